"""Which processed Parquet objects are new since the sensor's last tick, and the runs they ask for.

The cursor is the newest LastModified seen plus the object versions (`key@etag`) seen at that instant: S3
timestamps have one-second resolution, so a file landing in the same second as the cursor is still found,
and a replaced file (new ETag, newer LastModified) is found again. Run keys hash the object versions of a
partition, so a repeated notification or a replayed event for the same versions never launches twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from ecom_pipeline.energy_series.datasets import SeriesObject, UnknownDatasetError, classify_key
from ecom_pipeline.energy_series.events import parse_event


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    last_modified: datetime

    @property
    def version(self) -> str:
        return f"{self.key}@{self.etag}"


@dataclass(frozen=True)
class SeriesCursor:
    last_modified: datetime | None = None
    versions_at_last_modified: frozenset[str] = frozenset()
    # Versions seen whose partition did not exist yet (today's files): offered again every tick.
    pending: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | None) -> SeriesCursor:
        if not text:
            return cls()
        data = json.loads(text)
        stamp = datetime.fromisoformat(data["last_modified"]) if data.get("last_modified") else None
        return cls(stamp, frozenset(data.get("versions", ())), frozenset(data.get("pending", ())))

    def serialize(self) -> str:
        stamp = self.last_modified.isoformat() if self.last_modified else None
        return json.dumps(
            {
                "last_modified": stamp,
                "versions": sorted(self.versions_at_last_modified),
                "pending": sorted(self.pending),
            }
        )

    def is_new(self, obj: ListedObject) -> bool:
        if (
            obj.version in self.pending
            or self.last_modified is None
            or obj.last_modified > self.last_modified
        ):
            return True
        return obj.last_modified == self.last_modified and obj.version not in self.versions_at_last_modified

    def with_pending(self, versions: Iterable[str]) -> SeriesCursor:
        return replace(self, pending=frozenset(versions))


def normalize_etag(etag: str) -> str:
    return etag.strip('"')


def select_new(
    objects: Iterable[ListedObject], cursor: SeriesCursor, limit: int
) -> tuple[list[ListedObject], SeriesCursor]:
    """The oldest `limit` objects the cursor has not seen (pending ones included), and the cursor after them.

    The returned cursor has no pending versions: the caller sets those it still cannot request.
    """
    fresh = sorted((o for o in objects if cursor.is_new(o)), key=lambda o: (o.last_modified, o.key))[:limit]
    if not fresh:
        return [], cursor
    newest = max(fresh[-1].last_modified, cursor.last_modified or fresh[-1].last_modified)
    at_newest = {o.version for o in fresh if o.last_modified == newest}
    if newest == cursor.last_modified:
        at_newest |= cursor.versions_at_last_modified
    return fresh, SeriesCursor(newest, frozenset(at_newest))


@dataclass(frozen=True)
class PartitionRequest:
    dataset: str
    day: date
    versions: tuple[str, ...]  # sorted key@etag of the objects that triggered it

    @property
    def run_key(self) -> str:
        digest = hashlib.sha256("\n".join(self.versions).encode()).hexdigest()[:16]
        return f"energy_series:{self.dataset}:{self.day.isoformat()}:{digest}"


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


def partition_requests(
    bucket: str, objects: Iterable[ListedObject]
) -> tuple[list[PartitionRequest], list[Skipped]]:
    """One request per (dataset, day) among `objects`; keys that are not processed Parquet are skipped.

    Listed keys go through the same event parser as an external `{bucket, key}` trigger.
    """
    grouped: dict[tuple[str, date], list[str]] = {}
    skipped: list[Skipped] = []
    for obj in objects:
        (ref,) = parse_event({"bucket": bucket, "key": obj.key})
        try:
            series_object: SeriesObject = classify_key(ref.bucket, ref.key)
        except UnknownDatasetError as exc:
            skipped.append(Skipped(obj.key, str(exc)))
            continue
        grouped.setdefault((series_object.dataset, series_object.day), []).append(obj.version)
    requests = [
        PartitionRequest(dataset, day, tuple(sorted(versions)))
        for (dataset, day), versions in sorted(grouped.items())
    ]
    return requests, skipped
