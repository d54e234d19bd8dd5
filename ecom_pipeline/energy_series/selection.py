"""Which (dataset, day) partitions a set of new processed Parquet objects asks for, and their run keys.

Which objects are new is the shared `LastModifiedCursor`'s decision (ecom_pipeline/sensor_cursors.py); this
module groups the new ones by partition. Run keys hash the object versions (`key@etag`) of a partition, so a
repeated notification or a replayed event for the same versions never launches twice, while a replaced file
(new ETag) launches again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ecom_pipeline.energy_series.datasets import UnknownDatasetError, classify_key
from ecom_pipeline.energy_series.events import parse_event
from ecom_pipeline.s3_objects import S3ObjectVersion


@dataclass(frozen=True)
class PartitionRequest:
    dataset: str
    day: date
    versions: tuple[str, ...]  # sorted key@etag of the objects that triggered it

    @property
    def run_key(self) -> str:
        digest = hashlib.sha256("\n".join(self.versions).encode()).hexdigest()[:16]
        return f"energy_series:{self.dataset}:{self.day.isoformat()}:{digest}"

    def before(self, first_day: str) -> bool:
        """True when the request's day precedes `first_day` (ISO date): no partition will ever hold it."""
        return self.day.isoformat() < first_day


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


def partition_requests(
    bucket: str, objects: Iterable[S3ObjectVersion]
) -> tuple[list[PartitionRequest], list[Skipped]]:
    """One request per (dataset, day) among `objects`; keys that are not processed Parquet are skipped.

    Listed keys go through the same event parser as an external `{bucket, key}` trigger, so both name an
    object the same way.
    """
    grouped: dict[tuple[str, date], list[str]] = {}
    skipped: list[Skipped] = []
    for obj in objects:
        (ref,) = parse_event({"bucket": bucket, "key": obj.key})
        try:
            series_object = classify_key(ref.bucket, ref.key)
        except UnknownDatasetError as exc:
            skipped.append(Skipped(obj.key, str(exc)))
            continue
        grouped.setdefault((series_object.dataset, series_object.day), []).append(obj.version)
    requests = [
        PartitionRequest(dataset, day, tuple(sorted(versions)))
        for (dataset, day), versions in sorted(grouped.items())
    ]
    return requests, skipped
