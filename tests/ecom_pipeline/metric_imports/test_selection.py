from datetime import UTC, datetime, timedelta

from ecom_pipeline.metric_imports.selection import (
    FAILED,
    IMPORTED,
    REJECTED,
    LedgerEntry,
    S3Object,
    SensorCursor,
    batches_of_new_files,
    files_needing_import,
    import_run_key,
    is_metric_file_key,
    new_objects,
    normalize_etag,
    quarantine_key,
)

T0 = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def _obj(key: str, seconds: int, etag: str = '"abc"') -> S3Object:
    return S3Object(key=key, etag=etag, size=10, last_modified=T0 + timedelta(seconds=seconds))


def test_keys_and_names():
    assert normalize_etag('"d41d8"') == "d41d8"
    assert import_run_key("imports/a.json", '"e1"') == "imports/a.json@e1"
    assert quarantine_key("imports/a.json", "quarantine/") == "quarantine/imports/a.json"
    assert is_metric_file_key("imports/2026/a.json", "imports/")
    assert not is_metric_file_key("imports/2026/", "imports/")
    assert not is_metric_file_key("imports/", "imports/")
    assert not is_metric_file_key("other/a.json", "imports/")


def test_first_tick_sees_everything_oldest_first():
    objects = [_obj("imports/b.json", 5), _obj("imports/a.json", 1)]
    fresh, cursor = new_objects(objects, SensorCursor())
    assert [o.key for o in fresh] == ["imports/a.json", "imports/b.json"]
    assert cursor.last_modified == T0 + timedelta(seconds=5)
    assert cursor.versions_at_last_modified == {"imports/b.json@abc"}


def test_cursor_round_trips_and_skips_seen_objects():
    objects = [_obj("imports/a.json", 1), _obj("imports/b.json", 5)]
    _, cursor = new_objects(objects, SensorCursor())
    cursor = SensorCursor.parse(cursor.serialize())
    fresh, same = new_objects(objects, cursor)
    assert fresh == [] and same == cursor
    assert SensorCursor.parse(None) == SensorCursor()


def test_object_in_the_same_second_as_the_cursor_is_not_lost():
    _, cursor = new_objects([_obj("imports/a.json", 5)], SensorCursor())
    fresh, cursor = new_objects([_obj("imports/a.json", 5), _obj("imports/b.json", 5)], cursor)
    assert [o.key for o in fresh] == ["imports/b.json"]
    assert cursor.versions_at_last_modified == {"imports/a.json@abc", "imports/b.json@abc"}


def test_overwritten_file_is_new_again():
    _, cursor = new_objects([_obj("imports/a.json", 5, '"v1"')], SensorCursor())
    fresh, _ = new_objects([_obj("imports/a.json", 9, '"v2"')], cursor)
    assert [(o.key, o.etag) for o in fresh] == [("imports/a.json", '"v2"')]


def test_sweep_picks_missing_failed_and_replaced_versions_only():
    objects = [
        _obj("imports/new.json", 0),
        _obj("imports/done.json", 0),
        _obj("imports/bad.json", 0),
        _obj("imports/failed.json", 0),
        _obj("imports/replaced.json", 0, '"v2"'),
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


def test_file_overwritten_within_the_cursor_second_is_new_again():
    _, cursor = new_objects([_obj("imports/a.json", 5, '"v1"')], SensorCursor())
    fresh, _ = new_objects([_obj("imports/a.json", 5, '"v2"')], cursor)
    assert [o.etag for o in fresh] == ['"v2"']


def test_limit_leaves_the_rest_for_the_next_tick_even_within_one_second():
    objects = [_obj("imports/a.json", 1), _obj("imports/b.json", 2), _obj("imports/c.json", 2)]
    first, cursor = new_objects(objects, SensorCursor(), limit=2)
    second, cursor = new_objects(objects, cursor, limit=2)
    third, _ = new_objects(objects, cursor, limit=2)
    assert [o.key for o in first] == ["imports/a.json", "imports/b.json"]
    assert [o.key for o in second] == ["imports/c.json"]
    assert third == []


def test_batches_are_consecutive_and_within_the_file_and_byte_limits():
    at = datetime(2026, 3, 17, tzinfo=UTC)
    sizes = [10, 10, 10, 10, 50, 200, 10]
    objects = [S3Object(f"imports/{i}.json", f"e{i}", size, at) for i, size in enumerate(sizes)]

    batches = batches_of_new_files(objects, max_files=3, max_bytes=60)

    assert [[o.key[8:-5] for o in batch] for batch in batches] == [["0", "1", "2"], ["3", "4"], ["5"], ["6"]]
    assert [o for batch in batches for o in batch] == objects  # nothing dropped, order kept
    assert batches_of_new_files([], max_files=3, max_bytes=60) == []
