from datetime import UTC, datetime, timedelta

from ecom_pipeline.metric_imports.retention import PartitionRetention, RetainedFile, partitions_to_prune
from ecom_pipeline.metric_imports.selection import FAILED, IMPORTED, REJECTED

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
RETENTION = PartitionRetention(days=14, batch=3)


def _file(key: str, days_ago: float, status: str = IMPORTED, pruned: bool = False) -> RetainedFile:
    return RetainedFile(
        key, status, NOW - timedelta(days=days_ago), NOW - timedelta(days=1) if pruned else None
    )


def test_only_imported_files_past_the_retention_lose_their_partition():
    files = [
        _file("imports/old.json", 20),
        _file("imports/recent.json", 13.9),
        _file("imports/failed.json", 30, FAILED),
        _file("imports/rejected.json", 30, REJECTED),
        _file("imports/already-pruned.json", 30, pruned=True),
    ]

    assert partitions_to_prune(files, set(), RETENTION, NOW) == ["imports/old.json"]


def test_a_file_in_flight_keeps_its_partition():
    files = [_file("imports/running.json", 20), _file("imports/idle.json", 20)]

    assert partitions_to_prune(files, {"imports/running.json"}, RETENTION, NOW) == ["imports/idle.json"]


def test_at_most_a_batch_oldest_first():
    files = [_file(f"imports/{days}.json", days) for days in (15, 40, 20, 30, 16)]

    assert partitions_to_prune(files, set(), RETENTION, NOW) == [
        "imports/40.json",
        "imports/30.json",
        "imports/20.json",
    ]


def test_cutoff_is_the_retention_before_now():
    assert RETENTION.cutoff(NOW) == NOW - timedelta(days=14)
