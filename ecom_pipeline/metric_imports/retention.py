"""Which files' partitions the hourly sweep deletes from the Dagster instance: the retention of file partitions.

Dagster's own cost grows with the number of dynamic partitions (planning a backfill, the asset's partitions
page: see docs/metric_imports.md), and one partition per file reaches 100,000 in a year. So a file keeps its
partition for `partition_retention_days` after its last import run, then loses it once the ledger says it is
`imported`; a failed or rejected file keeps its partition (there is something to see or retry), and so does a
file whose run is in flight. The ledger stays the record of every file, the event log keeps the
materializations, and adding the key back on the partitions page makes the file materializable again.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ecom_pipeline.metric_imports.selection import IMPORTED


@dataclass(frozen=True)
class PartitionRetention:
    """How long an imported file keeps its partition, and how many partitions one sweep deletes at most (each
    deletion is a statement against the instance, so the batch bounds the sweep's cost)."""

    days: int
    batch: int

    def cutoff(self, now: datetime) -> datetime:
        """Files whose last import run is older than this are due."""
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class RetainedFile:
    """A ledger row as the retention sees it: `last_attempt_at` is the file's last import run (an import, or
    a run that found the version imported already); `partition_pruned_at` is set once its partition is gone."""

    key: str
    status: str
    last_attempt_at: datetime
    partition_pruned_at: datetime | None = None


def partitions_to_prune(
    files: Iterable[RetainedFile], in_flight: set[str], retention: PartitionRetention, now: datetime
) -> list[str]:
    """Keys whose partition the sweep deletes now: imported, not pruned yet, last run before the cutoff, not in a
    queued or running run; oldest first, at most `retention.batch`."""
    cutoff = retention.cutoff(now)
    due = [
        f
        for f in files
        if f.status == IMPORTED
        and f.partition_pruned_at is None
        and f.last_attempt_at < cutoff
        and f.key not in in_flight
    ]
    due.sort(key=lambda f: (f.last_attempt_at, f.key))
    return [f.key for f in due[: retention.batch]]
