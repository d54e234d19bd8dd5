from datetime import UTC, datetime, timedelta

from ecom_pipeline.metric_imports.quarantine import quarantine_key
from ecom_pipeline.metric_imports.selection import (
    FAILED,
    IMPORTED,
    REJECTED,
    LedgerEntry,
    batches_of_new_files,
    files_needing_import,
    import_run_key,
    is_metric_file_key,
)
from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag

T0 = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def _obj(key: str, seconds: int, etag: str = "abc") -> S3ObjectVersion:
    return S3ObjectVersion(key=key, etag=etag, size=10, last_modified=T0 + timedelta(seconds=seconds))


def test_keys_and_names():
    assert normalize_etag('"d41d8"') == "d41d8"
    assert import_run_key("imports/a.json", '"e1"') == "imports/a.json@e1"
    assert import_run_key("imports/a.json", '"e1"') == _obj("imports/a.json", 0, "e1").version
    assert quarantine_key("imports/a.json", "quarantine/") == "quarantine/imports/a.json"
    assert is_metric_file_key("imports/2026/a.json", "imports/")
    assert not is_metric_file_key("imports/2026/", "imports/")
    assert not is_metric_file_key("imports/", "imports/")
    assert not is_metric_file_key("other/a.json", "imports/")


def test_sweep_picks_missing_failed_and_replaced_versions_only():
    objects = [
        _obj("imports/new.json", 0),
        _obj("imports/done.json", 0),
        _obj("imports/bad.json", 0),
        _obj("imports/failed.json", 0),
        _obj("imports/replaced.json", 0, "v2"),
        _obj("imports/young.json", 3000),
    ]
    ledger = {
        "imports/done.json": LedgerEntry("abc", IMPORTED),
        "imports/bad.json": LedgerEntry("abc", REJECTED),
        "imports/failed.json": LedgerEntry("abc", FAILED),
        "imports/replaced.json": LedgerEntry("v1", IMPORTED),
    }
    due = files_needing_import(
        objects, ledger, now=T0 + timedelta(minutes=60), settle_time=timedelta(minutes=15)
    )
    assert sorted(o.key for o in due) == ["imports/failed.json", "imports/new.json", "imports/replaced.json"]


def test_batches_are_consecutive_and_within_the_file_and_byte_limits():
    at = datetime(2026, 3, 17, tzinfo=UTC)
    sizes = [10, 10, 10, 10, 50, 200, 10]
    objects = [S3ObjectVersion(f"imports/{i}.json", f"e{i}", size, at) for i, size in enumerate(sizes)]

    batches = batches_of_new_files(objects, max_files=3, max_bytes=60)

    assert [[o.key[8:-5] for o in batch] for batch in batches] == [["0", "1", "2"], ["3", "4"], ["5"], ["6"]]
    assert [o for batch in batches for o in batch] == objects  # nothing dropped, order kept
    assert batches_of_new_files([], max_files=3, max_bytes=60) == []
