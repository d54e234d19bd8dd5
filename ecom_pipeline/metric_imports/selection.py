"""Which files under the imports prefix need a run: new ones for the sensor, missed or failed ones for the sweep.

A file version is identified by (key, ETag): a re-uploaded file with new content is a new import, the same
bytes seen twice are not.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Ledger statuses (the CHECK constraint in sql/020_metric_imports.sql lists the same values).
IMPORTED = "imported"
REJECTED = "rejected"
FAILED = "failed"
# A version in one of these states is settled: re-running it would change nothing.
SETTLED_STATUSES = frozenset({IMPORTED, REJECTED})


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class LedgerEntry:
    etag: str
    status: str


def normalize_etag(etag: str) -> str:
    """S3 returns ETags quoted; store and compare them bare."""
    return etag.strip().strip('"')


def is_metric_file_key(key: str, imports_prefix: str) -> bool:
    """Every object under the prefix is an import candidate except folder markers; a wrong type is rejected."""
    return key.startswith(imports_prefix) and not key.endswith("/") and len(key) > len(imports_prefix)


def import_run_key(key: str, etag: str) -> str:
    """One sensor run per file version: a duplicate S3 event or a re-listing maps to the same run key."""
    return f"{key}@{normalize_etag(etag)}"


def quarantine_key(key: str, quarantine_prefix: str) -> str:
    """Where a rejected file is copied: the same key under the quarantine prefix, so it is easy to find."""
    return f"{quarantine_prefix}{key}"


@dataclass(frozen=True)
class SensorCursor:
    """High-water mark of LastModified plus the versions (key@ETag) seen at exactly that instant: S3 has 1 s
    resolution, so a file overwritten within that second has the same LastModified but a new ETag."""

    last_modified: datetime | None = None
    versions_at_last_modified: frozenset[str] = frozenset()

    def serialize(self) -> str:
        return json.dumps(
            {
                "last_modified": self.last_modified.isoformat() if self.last_modified else None,
                "versions": sorted(self.versions_at_last_modified),
            }
        )

    @classmethod
    def parse(cls, text: str | None) -> "SensorCursor":
        if not text:
            return cls()
        data = json.loads(text)
        stamp = data.get("last_modified")
        return cls(
            last_modified=datetime.fromisoformat(stamp) if stamp else None,
            versions_at_last_modified=frozenset(data.get("versions", ())),
        )


def new_objects(
    objects: Iterable[S3Object], cursor: SensorCursor, limit: int | None = None
) -> tuple[list[S3Object], SensorCursor]:
    """Objects modified after the cursor, oldest first (at most `limit`), and the cursor that covers them;
    objects beyond the limit stay after the cursor for the next tick."""
    fresh = [
        obj
        for obj in objects
        if cursor.last_modified is None
        or obj.last_modified > cursor.last_modified
        or (
            obj.last_modified == cursor.last_modified
            and import_run_key(obj.key, obj.etag) not in cursor.versions_at_last_modified
        )
    ]
    fresh.sort(key=lambda obj: (obj.last_modified, obj.key))
    fresh = fresh[:limit] if limit is not None else fresh
    if not fresh:
        return [], cursor
    newest = fresh[-1].last_modified
    at_newest = {import_run_key(obj.key, obj.etag) for obj in fresh if obj.last_modified == newest}
    if newest == cursor.last_modified:
        at_newest |= cursor.versions_at_last_modified
    return fresh, SensorCursor(newest, frozenset(at_newest))


def files_needing_import(
    objects: Iterable[S3Object],
    ledger: Mapping[str, LedgerEntry],
    now: datetime,
    settle_time: timedelta,
) -> list[S3Object]:
    """Versions never imported, whose import failed, or replaced by new content; files younger than
    `settle_time` are left to the sensor so the sweep does not race it."""
    due = []
    for obj in objects:
        if now - obj.last_modified < settle_time:
            continue
        entry = ledger.get(obj.key)
        if entry is None or entry.etag != normalize_etag(obj.etag) or entry.status not in SETTLED_STATUSES:
            due.append(obj)
    return sorted(due, key=lambda obj: (obj.last_modified, obj.key))


def batches_of_new_files(
    objects: list[S3Object],
    max_files: int,
    max_bytes: int,
) -> list[list[S3Object]]:
    """Consecutive slices of `objects` for one run each, within both limits (a file over `max_bytes` alone):
    many small files share a run's start-up cost, and no run gets more bytes than one step can import."""
    batches: list[list[S3Object]] = []
    size = 0
    for obj in objects:
        if not batches or len(batches[-1]) >= max_files or (size + obj.size > max_bytes and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(obj)
        size += obj.size
    return batches
