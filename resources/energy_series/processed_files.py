"""Processed Parquet of one energy-series partition on S3: which files it has, and their bytes.

Reads go through the pipeline's cached S3 client; parsing and validation are pure and live in
`ecom_pipeline.energy_series.preparation`.
"""

from typing import Any

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.preparation import LoadSettings, PreparedFile, prepare_file
from ecom_pipeline.s3_objects import S3ObjectVersion
from resources.s3_objects import list_object_versions


def list_partition_files(s3_client: Any, bucket: str, prefix: str) -> list[S3ObjectVersion]:
    """Every Parquet object under the partition prefix, in key order."""
    objects = list_object_versions(s3_client, bucket, prefix)
    return sorted((obj for obj in objects if obj.key.endswith(".parquet")), key=lambda obj: obj.key)


def read_file(
    s3_client: Any, bucket: str, obj: S3ObjectVersion, spec: DatasetSpec, settings: LoadSettings
) -> PreparedFile:
    """One listed object downloaded, parsed and validated (SchemaError/InvalidRecordsError on bad input)."""
    body = s3_client.get_object(Bucket=bucket, Key=obj.key)["Body"].read()
    return prepare_file(body, bucket, obj.key, obj.size, spec, settings)
