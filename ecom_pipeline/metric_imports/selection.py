"""Which files under the imports prefix need a run: new ones for the sensor, missed or failed ones for the sweep.

A file version is identified by (key, ETag): a re-uploaded file with new content is a new import, the same
bytes seen twice are not. The sensor's "new since the last tick" is `ecom_pipeline.sensor_cursors`'s
`LastModifiedCursor`; this module holds the decisions only this pipeline makes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag

# Ledger statuses (the CHECK constraint in sql/020_metric_imports.sql lists the same values).
IMPORTED = "imported"
REJECTED = "rejected"
FAILED = "failed"
# A version in one of these states is settled: re-running it would change nothing.
SETTLED_STATUSES = frozenset({IMPORTED, REJECTED})


@dataclass(frozen=True)
class FileVersion:
    """The version of a file an import reads and the ledger records (`etag` bare)."""

    bucket: str
    key: str
    etag: str
    size_bytes: int


@dataclass(frozen=True)
class LedgerEntry:
    etag: str
    status: str
    attempts: int = 1  # attempts of the key; a failure of a new version restarts the count at 1
    last_attempt_at: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How the hourly sweep retries a version whose import failed on the database."""

    max_attempts: int
    backoff: timedelta  # wait before the retry after attempt n: backoff * 2**(n-1)

    def gave_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def next_attempt_at(self, entry: LedgerEntry) -> datetime | None:
        """When the sweep may retry `entry` (a failed version), or None once it gave up."""
        if self.gave_up(entry.attempts) or entry.last_attempt_at is None:
            return None
        return entry.last_attempt_at + self.backoff * 2 ** (entry.attempts - 1)

    def due(self, entry: LedgerEntry, now: datetime) -> bool:
        at = self.next_attempt_at(entry)
        return at is not None and now >= at


def is_metric_file_key(key: str, imports_prefix: str) -> bool:
    """Every object under the prefix is an import candidate except folder markers; a wrong type is rejected."""
    return key.startswith(imports_prefix) and not key.endswith("/") and len(key) > len(imports_prefix)


def import_run_key(key: str, etag: str) -> str:
    """One sensor run per file version: a duplicate S3 event or a re-listing maps to the same run key."""
    return f"{key}@{normalize_etag(etag)}"


def files_needing_import(
    objects: Iterable[S3ObjectVersion],
    ledger: Mapping[str, LedgerEntry],
    now: datetime,
    settle_time: timedelta,
    retry: RetryPolicy | None = None,
) -> list[S3ObjectVersion]:
    """Versions never imported, whose import failed (when `retry` says it is time), or replaced by new
    content; files younger than `settle_time` are left to the sensor so the sweep does not race it."""
    due = []
    for obj in objects:
        if now - obj.last_modified < settle_time:
            continue
        entry = ledger.get(obj.key)
        if entry is None or entry.etag != obj.etag:
            due.append(obj)
        elif entry.status not in SETTLED_STATUSES and (retry is None or retry.due(entry, now)):
            due.append(obj)
    return sorted(due, key=lambda obj: (obj.last_modified, obj.key))


def batches_of_new_files(
    objects: list[S3ObjectVersion],
    max_files: int,
    max_bytes: int,
) -> list[list[S3ObjectVersion]]:
    """Consecutive slices of `objects` for one run each, within both limits (a file over `max_bytes` alone):
    many small files share a run's start-up cost, and no run gets more bytes than one step can import."""
    batches: list[list[S3ObjectVersion]] = []
    size = 0
    for obj in objects:
        if not batches or len(batches[-1]) >= max_files or (size + obj.size > max_bytes and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(obj)
        size += obj.size
    return batches
