"""Processed Parquet of one energy-series partition on S3: which files it has, staged on local disk.

Reads go through the pipeline's cached S3 client; a body is copied to disk in chunks, never held whole, and
parsing and validation (pure, batch by batch) live in `ecom_pipeline.energy_series.preparation`.
"""

import shutil
from pathlib import Path
from typing import Any

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.preparation import LoadSettings, ParquetRows, PreparedFile, scan_file
from ecom_pipeline.s3_objects import S3ObjectVersion
from resources.s3_objects import list_object_versions

COPY_CHUNK = 1 << 20


def list_partition_files(s3_client: Any, bucket: str, prefix: str) -> list[S3ObjectVersion]:
    """Every Parquet object under the partition prefix, in key order."""
    objects = list_object_versions(s3_client, bucket, prefix)
    return sorted((obj for obj in objects if obj.key.endswith(".parquet")), key=lambda obj: obj.key)


def read_file(
    s3_client: Any,
    bucket: str,
    obj: S3ObjectVersion,
    spec: DatasetSpec,
    settings: LoadSettings,
    directory: Path,
    batch_rows: int,
) -> PreparedFile:
    """One listed object staged in `directory`, validated and counted batch by batch (SchemaError or
    InvalidRecordsError on bad input); its rows are read again from disk when converted."""
    path = directory / f"{len(list(directory.iterdir()))}.parquet"
    body = s3_client.get_object(Bucket=bucket, Key=obj.key)["Body"]
    with open(path, "wb") as handle:
        shutil.copyfileobj(body, handle, COPY_CHUNK)
    rows = ParquetRows(path, f"s3://{bucket}/{obj.key}", spec, settings, batch_rows)
    return scan_file(obj.key, obj.size, rows)
