"""One bronze partition of one entity, end to end: extract -> stage -> promote -> manifest -> checkpoint.

Written against two small ports (`LakeStore`, `CheckpointStore`) so this module stays free of boto3; the S3
adapter is resources/bronze/lake.py. The order of the steps is what makes runs safe:

1. Parts are written under a staging prefix of this ingestion. A failure here (source error, S3 rejecting a
   write) deletes what was staged and leaves the partition's live folder and the checkpoint untouched.
2. Promote: copy every staged part to its final key (overwriting same-named parts of an earlier run), then
   delete every other object of the partition's folder, so the folder holds exactly this run's parts.
3. Write `_manifest.json`, then advance the checkpoint to the window end (only forwards).

A crash between any two steps leaves a state a re-run repairs: the re-run plans the same window (the
manifest's start, or the unchanged checkpoint), overwrites same-named parts, deletes every other object of the
folder, rewrites the manifest and moves the checkpoint (tests/assets/bronze/test_publish_crashes.py injects a
failure at each point of `PUBLISH_POINTS`).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from ecom_pipeline.bronze.enrich import (
    IngestionStamp,
    bronze_schema,
    check_no_reserved_columns,
    event_dates,
    split_by_event_date,
    with_metadata,
)
from ecom_pipeline.bronze.entities import EntitySpec
from ecom_pipeline.bronze.layout import manifest_key, partition_prefix, staging_prefix
from ecom_pipeline.bronze.manifest import PartitionManifest
from ecom_pipeline.bronze.overlap import HeldRows
from ecom_pipeline.bronze.parts import PartLimits, PartWriter
from ecom_pipeline.bronze.schema_drift import schema_signature
from ecom_pipeline.bronze.unique_keys import UniqueKeys
from ecom_pipeline.bronze.windows import ExtractionWindow

# The points of the publish sequence, in order; `ingest_partition` calls `reached(point)` at each.
PUBLISH_POINTS = ("staged", "promoted", "manifest_written", "before_checkpoint")


class LakeStore(Protocol):
    """The lake bucket, plus the staging area new parts wait in (may be another bucket)."""

    def put(self, key: str, body: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def list_keys(self, prefix: str) -> list[str]: ...
    def delete(self, keys: list[str]) -> None: ...
    def put_staged(self, key: str, body: bytes) -> None:
        """May return before the object is written; `wait_staged` waits and raises a failed write."""

    def wait_staged(self) -> None: ...

    def promote(self, pairs: list[tuple[str, str]]) -> None:
        """Copy each (staged key, final key); returns when every copy succeeded."""

    def delete_staged(self, keys: list[str]) -> None: ...


class StoredCheckpoint(Protocol):
    last_sync_timestamp: datetime


class CheckpointStore(Protocol):
    def get(self, entity: str) -> StoredCheckpoint | None: ...
    def advance(self, entity: str, last_sync_timestamp: datetime, record_count: int) -> bool: ...


@dataclass(frozen=True)
class SourceBatch:
    """Original columns of some extracted records and their `_record_hash`es (see record_hash.py)."""

    table: pa.Table
    record_hashes: pa.Array


@dataclass
class Extraction:
    """What a source hands the writer: the column schema when known up front, and the batches."""

    description: str
    batches: Iterator[SourceBatch]
    schema: pa.Schema | None = None
    rejected: list[str] = field(default_factory=list)
    outside_window: int = 0


@dataclass(frozen=True)
class LakeLayout:
    """Where the tables and the staging area are (prefixes), and how large the parts grow."""

    root_prefix: str
    staging_root: str
    parts: PartLimits = PartLimits()


@dataclass
class IngestionResult:
    manifest: PartitionManifest
    partition_prefix: str
    checkpoint_advanced: bool
    deleted_keys: list[str]
    rejected: list[str]
    outside_window: int
    seconds: float
    preview: pa.Table | None
    unique_keys: UniqueKeys  # every written row's key, spilled to disk (close it after the check)
    written_schema: pa.Schema | None = None  # the Parquet schema of the parts (None: no rows and no schema)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def ingest_partition(
    entity: EntitySpec,
    window: ExtractionWindow,
    extraction: Extraction,
    store: LakeStore,
    checkpoints: CheckpointStore,
    layout: LakeLayout,
    stamp: IngestionStamp,
    log: Callable[[str], None],
    run_id: str | None = None,
    reached: Callable[[str], None] = lambda point: None,
    held: HeldRows | None = None,
) -> IngestionResult:
    """Write one partition of `entity` from `extraction` in the order the module docstring gives; a failure
    before promotion deletes the staged parts and leaves the live folder and the checkpoint as they were.
    Rows whose version `held` lists (other partitions hold them) are dropped; `reached` is told each of
    `PUBLISH_POINTS` as the sequence passes it."""
    started = time.monotonic()
    label = f"Processing {entity.name}"
    log(f"Starting: {label}")
    live_prefix = partition_prefix(layout.root_prefix, entity.name, window.partition_date, window.load_type)
    staged_prefix = staging_prefix(layout.staging_root, entity.name, stamp.ingestion_id)
    staged: list[str] = []

    def stage(relative_key: str, body: bytes) -> None:
        store.put_staged(staged_prefix + relative_key, body)
        staged.append(relative_key)

    writer: PartWriter | None = None
    schema = extraction.schema
    rows_extracted = 0
    unique_keys = UniqueKeys(entity.primary_key)
    preview: pa.Table | None = None
    try:
        for batch in extraction.batches:
            table = batch.table
            if writer is None:
                schema = schema or table.schema
                check_no_reserved_columns(schema.names, f"entity {entity.name}")
                missing = [c for c in entity.primary_key if c not in schema.names]
                if missing:
                    raise ValueError(
                        f"entity {entity.name}: primary key column(s) {missing} not in the records"
                    )
                writer = _writer(schema, stage, layout)
            rows_extracted += table.num_rows
            hashes = batch.record_hashes
            if held is not None:
                table, hashes = held.drop_held(table, hashes, entity.primary_key)
            # The keys go to a bounded, disk-spilling uniqueness check (unique_keys.py), not a list in memory.
            unique_keys.add(table.select(list(entity.primary_key)))
            dates = event_dates(table, entity.event_date_column, entity.cursor_column, window.partition_date)
            enriched = with_metadata(table, hashes, stamp)
            if preview is None or preview.num_rows < 5:
                preview = enriched.slice(0, 5)
            for event_date, rows in split_by_event_date(enriched, dates):
                writer.add(event_date, rows)
        if writer is None and schema is not None:
            writer = _writer(schema, stage, layout)
        if writer is not None:
            writer.flush_all()
        store.wait_staged()
    except BaseException:
        unique_keys.close()
        close = getattr(extraction.batches, "close", None)
        if close is not None:
            close()  # stops a COPY still streaming
        try:
            store.delete_staged([staged_prefix + key for key in staged])
        except Exception as cleanup:  # the original error matters more; staging expires by lifecycle
            log(f"{label}: staged parts under {staged_prefix} not deleted: {cleanup}")
        raise
    log(f"{label}: Extracted {rows_extracted} records")
    reached("staged")

    parts = writer.parts if writer is not None else []
    new_keys = [live_prefix + part.relative_key for part in parts]
    store.promote(
        [(staged_prefix + part.relative_key, key) for part, key in zip(parts, new_keys, strict=True)]
    )
    keep = set(new_keys)
    leftovers = [key for key in store.list_keys(live_prefix) if key not in keep]
    reached("promoted")
    store.delete(leftovers)
    store.delete_staged([staged_prefix + key for key in staged])

    manifest = PartitionManifest(
        entity=entity.name,
        partition_date=window.partition_date.isoformat(),
        load_type=window.load_type.value,
        ingestion_id=stamp.ingestion_id,
        ingestion_ts=stamp.ingestion_ts.isoformat(),
        window_start=_iso(window.start),
        window_end=window.end.isoformat(),
        rows_extracted=rows_extracted,
        rows_written=sum(p.rows for p in parts),
        files=[
            {"key": key, "event_date": p.event_date, "rows": p.rows, "bytes": p.bytes}
            for p, key in zip(parts, new_keys, strict=True)
        ],
        schema=schema_signature(bronze_schema(schema)) if schema is not None else {},
        checkpoint_before=_iso(window.checkpoint_before),
        checkpoint_after=_iso(window.checkpoint_before),
        run_id=run_id,
        read_start=_iso(window.query_start),
        rows_already_held=held.dropped if held is not None else 0,
    )
    advanced = False
    if window.advances_checkpoint:
        manifest.checkpoint_after = window.end.isoformat()
    store.put(manifest_key(live_prefix), manifest.to_json())
    reached("manifest_written")
    reached("before_checkpoint")
    if window.advances_checkpoint:
        advanced = checkpoints.advance(entity.checkpoint_key, window.end, rows_extracted)
        if not advanced:
            log(f"{label}: checkpoint not moved, a newer one is stored")
    log(f"Completed: {label}")
    return IngestionResult(
        manifest=manifest,
        partition_prefix=live_prefix,
        checkpoint_advanced=advanced,
        deleted_keys=leftovers,
        rejected=list(extraction.rejected),
        outside_window=extraction.outside_window,
        seconds=time.monotonic() - started,
        preview=preview,
        unique_keys=unique_keys,
        written_schema=bronze_schema(schema) if schema is not None else None,
    )


def _writer(schema: pa.Schema, sink: Callable[[str, bytes], None], layout: LakeLayout) -> PartWriter:
    return PartWriter(schema=bronze_schema(schema), sink=sink, limits=layout.parts)
