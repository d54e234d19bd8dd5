"""Where the bronze lake lives (bucket, prefixes, part sizes) and the S3 store the bronze assets write through:
staged uploads, promotion, manifests and Parquet read-back."""

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from botocore.exceptions import ClientError
from pydantic import Field

from ecom_pipeline.bronze.enrich import RECORD_HASH
from ecom_pipeline.bronze.entities import EntitySpec
from ecom_pipeline.bronze.ingest import LakeLayout
from ecom_pipeline.bronze.layout import (
    earlier_partition_prefixes,
    entity_prefix,
    ingestion_date_of,
    manifest_key,
    partition_prefix,
)
from ecom_pipeline.bronze.manifest import PartitionManifest
from ecom_pipeline.bronze.overlap import HeldRows, row_versions
from ecom_pipeline.bronze.parts import PartLimits
from ecom_pipeline.bronze.windows import ExtractionWindow, LoadType
from ecom_pipeline.errors import ConfigurationError
from resources.aws_clients import AwsClientResource
from resources.s3_objects import list_folders, list_object_versions

_DELETE_BATCH = 1000
_PARALLEL_REQUESTS = 8  # S3 requests in flight for copies and read-backs (latency-bound, not CPU-bound)
_UPLOADS_IN_FLIGHT = 2
_PREVIOUS_PARTITIONS_SEARCHED = 62  # ingestion dates, about two months of daily partitions
_UPLOADER = ThreadPoolExecutor(_UPLOADS_IN_FLIGHT, thread_name_prefix="bronze-upload")


class S3LakeStore:
    """The `LakeStore` port of ecom_pipeline.bronze.ingest on one bucket."""

    def __init__(self, client: Any, bucket: str, staging_bucket: str, arrow_fs: pafs.FileSystem) -> None:
        self._client = client
        self.bucket = bucket
        self.staging_bucket = staging_bucket
        self._uploads: list[Future] = []
        self._fs = arrow_fs

    def _check(self, exc: ClientError, key: str, bucket: str | None = None) -> None:
        code = exc.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            raise ConfigurationError(
                f"S3 bucket {bucket or self.bucket!r} does not exist ({key!r})"
            ) from None

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as exc:
            self._check(exc, key, bucket)
            raise

    def put(self, key: str, body: bytes) -> None:
        self._put(self.bucket, key, body)

    def put_staged(self, key: str, body: bytes) -> None:
        """Uploads in the background so the next part is built meanwhile; at most one upload waits, which
        bounds the memory held by parts in flight. Errors surface here, in `promote` or `delete_staged`."""
        while len([f for f in self._uploads if not f.done()]) >= _UPLOADS_IN_FLIGHT:
            wait(self._uploads, return_when=FIRST_COMPLETED)
        self._raise_failed_upload()
        self._uploads.append(_UPLOADER.submit(self._put, self.staging_bucket, key, body))

    def _raise_failed_upload(self, wait_all: bool = False) -> None:
        if wait_all:
            wait(self._uploads)
        for future in self._uploads:
            if future.done() and future.exception() is not None:
                raise future.exception()
        self._uploads = [f for f in self._uploads if not f.done()]

    def wait_staged(self) -> None:
        self._raise_failed_upload(wait_all=True)

    def promote(self, pairs: list[tuple[str, str]]) -> None:
        self.wait_staged()

        def copy(pair: tuple[str, str]) -> None:
            staged_key, key = pair
            self._client.copy_object(
                Bucket=self.bucket, Key=key, CopySource={"Bucket": self.staging_bucket, "Key": staged_key}
            )

        with ThreadPoolExecutor(_PARALLEL_REQUESTS) as pool:
            list(pool.map(copy, pairs))

    def delete_staged(self, keys: list[str]) -> None:
        wait(self._uploads)  # an upload finishing after the delete would leave an orphan
        self._uploads = []
        self._delete(self.staging_bucket, keys)

    def get(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            self._check(exc, key)
            raise

    def list_keys(self, prefix: str) -> list[str]:
        try:
            return [obj.key for obj in list_object_versions(self._client, self.bucket, prefix)]
        except ClientError as exc:
            self._check(exc, prefix)
            raise

    def list_folders(self, prefix: str) -> list[str]:
        """Immediate sub-prefixes of `prefix` (S3 'folders')."""
        return list_folders(self._client, self.bucket, prefix)

    def delete(self, keys: list[str]) -> None:
        self._delete(self.bucket, keys)

    def _delete(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = self._client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"S3 refused to delete {len(errors)} object(s) in {bucket!r}, "
                    f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )

    def open_parquet(self, keys: list[str]) -> list[pq.ParquetFile]:
        """Footers and column chunks are fetched with ranged reads, so checks read only what they need."""
        with ThreadPoolExecutor(_PARALLEL_REQUESTS) as pool:
            return list(
                pool.map(lambda key: pq.ParquetFile(self._fs.open_input_file(f"{self.bucket}/{key}")), keys)
            )

    def read_manifest(self, prefix: str) -> PartitionManifest | None:
        """The manifest of the partition at `prefix`; None when no run of it has completed."""
        key = manifest_key(prefix)
        body = self.get(key)
        return None if body is None else PartitionManifest.from_json(body, key)

    def previous_manifest(
        self, root: str, entity: str, before: date, load_type: str
    ) -> PartitionManifest | None:
        """The nearest earlier partition's manifest that recorded a schema (same load type preferred)."""
        folders = self.list_folders(entity_prefix(root, entity))
        for prefix in earlier_partition_prefixes(
            root, entity, folders, before, load_type, _PREVIOUS_PARTITIONS_SEARCHED
        ):
            manifest = self.read_manifest(prefix)
            if manifest is not None and manifest.schema:
                return manifest
        return None

    def held_rows(
        self, root: str, entity: EntitySpec, window: ExtractionWindow, overlap: timedelta
    ) -> HeldRows:
        """Row versions the entity's other incremental partitions hold with a cursor in the window's query
        range: the partitions from the query start's day to the window end's day plus the overlap. Row groups
        whose cursor statistics miss the range are not read."""
        held = HeldRows()
        start = window.query_start
        if start is None or window.first_run:
            return held
        last = (window.end + overlap).date()
        for folder in self.list_folders(entity_prefix(root, entity.name)):
            day = ingestion_date_of(folder)
            if day is None or day == window.partition_date or not start.date() <= day <= last:
                continue
            prefix = partition_prefix(root, entity.name, day, LoadType.INCREMENTAL.value)
            manifest = self.read_manifest(prefix)
            if manifest is None:
                continue
            for parquet_file in self.open_parquet([f["key"] for f in manifest.files]):
                for rows in _rows_in_range(parquet_file, entity, start, window.end):
                    keys = rows.select(list(entity.primary_key))
                    held.add(row_versions(keys, rows.column(RECORD_HASH).combine_chunks()))
        return held


def _rows_in_range(
    parquet_file: pq.ParquetFile, entity: EntitySpec, start: datetime, end: datetime
) -> Iterator[pa.Table]:
    """Rows of the file with start <= cursor < end (API cursors are text: all their rows, a day's worth)."""
    columns = [*entity.primary_key, RECORD_HASH, entity.cursor_column]
    index = parquet_file.schema_arrow.get_field_index(entity.cursor_column)
    if index < 0:
        return
    cursor_type = parquet_file.schema_arrow.field(index).type
    timestamps = pa.types.is_timestamp(cursor_type)
    for group in range(parquet_file.metadata.num_row_groups):
        stats = parquet_file.metadata.row_group(group).column(index).statistics
        if timestamps and stats is not None and stats.has_min_max and _outside(stats, start, end):
            continue
        rows = parquet_file.read_row_group(group, columns=columns)
        if timestamps:
            cursor = rows.column(entity.cursor_column)
            low, high = pa.scalar(start, cursor_type), pa.scalar(end, cursor_type)
            rows = rows.filter(pc.and_(pc.greater_equal(cursor, low), pc.less(cursor, high)))
        yield rows


def _outside(stats: Any, start: datetime, end: datetime) -> bool:
    try:
        low, high = stats.min, stats.max
        if low.tzinfo is None:
            low, high = low.replace(tzinfo=start.tzinfo), high.replace(tzinfo=start.tzinfo)
        return high < start or low >= end
    except (TypeError, AttributeError):
        return False  # statistics of another form: read the group


class BronzeLakeResource(AwsClientResource):
    """Bronze lake location (env `LAKE_BUCKET`) and the sizes that bound a step's memory."""

    bucket: str = Field(description="Lake bucket; bronze Parquet goes under `root_prefix`.")
    root_prefix: str = Field(default="data/bronze", description="Prefix of the bronze tables.")
    staging_prefix: str = Field(
        default="staging/bronze",
        description="Where parts wait until every part of a run is written (outside the tables).",
    )
    staging_bucket: str | None = Field(
        default=None,
        description="Bucket of the staging prefix; unset: the lake bucket (expire it by lifecycle).",
    )
    part_max_rows: int = Field(default=1_000_000, description="Rows per Parquet part file (about).")
    part_max_mb: int = Field(default=64, description="Compressed size at which a part file is finished.")
    buffer_mb: int = Field(default=32, description="Uncompressed rows waiting to become row groups.")
    open_parts_mb: int = Field(default=96, description="Compressed parts being built across event dates.")
    row_group_rows: int = Field(default=128_000, description="Parquet row group size (at most).")
    late_row_overlap_minutes: int = Field(
        default=60,
        description="Incremental runs re-read this much before the checkpoint for late-committed rows.",
    )

    @property
    def late_row_overlap(self) -> timedelta:
        return timedelta(minutes=self.late_row_overlap_minutes)

    def layout(self) -> LakeLayout:
        return LakeLayout(
            root_prefix=self.root_prefix.strip("/"),
            staging_root=self.staging_prefix.strip("/"),
            parts=PartLimits(
                part_max_rows=self.part_max_rows,
                part_max_bytes=self.part_max_mb << 20,
                buffer_bytes=self.buffer_mb << 20,
                open_bytes=self.open_parts_mb << 20,
                row_group_rows=self.row_group_rows,
            ),
        )

    def browse_url(self, key: str) -> str:
        """A lasting link to an object or folder (`key` ending in `/`) of the lake, for the UI's metadata."""
        return self.s3_link(self.bucket, key)

    def store(self) -> S3LakeStore:
        return S3LakeStore(
            self.client("s3"), self.bucket, self.staging_bucket or self.bucket, self._arrow_fs()
        )

    def _arrow_fs(self) -> pafs.S3FileSystem:
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        region = self.region_name or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        options: dict[str, Any] = {"region": region} if region else {}
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            options.update(endpoint_override=host or endpoint, scheme=scheme if host else "https")
        return pafs.S3FileSystem(**options)
