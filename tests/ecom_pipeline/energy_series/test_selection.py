"""The sensor's decisions: which listed objects are new (the shared LastModifiedCursor, with this
pipeline's scenarios) and which partition runs they ask for."""

import json
from datetime import UTC, date, datetime

from ecom_pipeline.energy_series.selection import PartitionRequest, partition_requests
from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import LastModifiedCursor

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)
GEN = "processed/dataset=generation/date=2026-03-01/part-{}.parquet"


def obj(key, etag="e1", at=T0):
    return S3ObjectVersion(key, etag, 1, at)


def select_new(objects, cursor: LastModifiedCursor, limit: int):
    return cursor.select_new(objects, limit=limit)


def test_first_tick_takes_everything_and_cursor_round_trips():
    objects = [obj(GEN.format(1)), obj(GEN.format(0), at=T1)]
    fresh, cursor = select_new(objects, LastModifiedCursor(), limit=10)
    assert [o.key for o in fresh] == [GEN.format(1), GEN.format(0)]  # oldest first
    assert LastModifiedCursor.from_json(cursor.to_json()) == cursor
    assert cursor.last_modified == T1 and cursor.versions_at_last_modified == {f"{GEN.format(0)}@e1"}
    assert select_new(objects, cursor, limit=10) == ([], cursor)


def test_a_file_in_the_cursors_second_and_a_replaced_file_are_new():
    _, cursor = select_new([obj(GEN.format(0))], LastModifiedCursor(), limit=10)
    same_second = obj(GEN.format(1))
    replaced = obj(GEN.format(0), etag="e2", at=T1)
    fresh, cursor2 = select_new([obj(GEN.format(0)), same_second, replaced], cursor, limit=10)
    assert fresh == [same_second, replaced]
    assert cursor2.last_modified == T1


def test_limit_leaves_the_rest_for_the_next_tick():
    objects = [obj(GEN.format(i)) for i in range(5)]
    first, cursor = select_new(objects, LastModifiedCursor(), limit=3)
    second, cursor = select_new(objects, cursor, limit=3)
    assert (
        len(first) == 3 and len(second) == 2 and {o.key for o in first + second} == {o.key for o in objects}
    )
    assert select_new(objects, cursor, limit=3)[0] == []


def test_pending_versions_are_offered_again_without_moving_the_cursor_back():
    old = obj(GEN.format(0))
    _, cursor = select_new([old, obj(GEN.format(1), at=T1)], LastModifiedCursor(), limit=10)
    cursor = LastModifiedCursor.from_json(cursor.with_pending([old.version]).to_json())
    fresh, after = select_new([old, obj(GEN.format(1), at=T1)], cursor, limit=10)
    assert fresh == [old] and after.last_modified == T1 and after.pending == frozenset()


def test_partition_requests_group_by_dataset_and_day_and_skip_other_keys():
    objects = [
        obj(GEN.format(0)),
        obj(GEN.format(1), etag="e9"),
        obj("processed/dataset=transmission/date=2026-03-01/part-0.parquet"),
        obj("processed/dataset=weather/date=2026-03-01/part-0.parquet"),
        obj("processed/_SUCCESS"),
    ]
    requests, skipped = partition_requests("b", objects)
    assert [(r.dataset, r.day) for r in requests] == [
        ("generation", date(2026, 3, 1)),
        ("transmission", date(2026, 3, 1)),
    ]
    assert requests[0].versions == (f"{GEN.format(0)}@e1", f"{GEN.format(1)}@e9")
    assert [s.key for s in skipped] == [
        "processed/dataset=weather/date=2026-03-01/part-0.parquet",
        "processed/_SUCCESS",
    ]
    # Same versions, same run key; another version, another key.
    again, _ = partition_requests("b", list(reversed(objects[:2])))
    assert again[0].run_key == requests[0].run_key
    changed, _ = partition_requests("b", [obj(GEN.format(0), etag="e2"), objects[1]])
    assert changed[0].run_key != requests[0].run_key
    assert requests[0].run_key.startswith("energy_series:generation:2026-03-01:")


def test_a_cursor_stored_by_the_deployed_sensor_still_parses():
    stored = json.dumps(
        {
            "last_modified": "2026-03-02T08:00:01+00:00",
            "versions": [f"{GEN.format(0)}@e1"],
            "pending": [f"{GEN.format(1)}@e1"],
        }
    )
    cursor = LastModifiedCursor.from_json(stored)
    assert cursor.last_modified == T1
    assert cursor.versions_at_last_modified == {f"{GEN.format(0)}@e1"}
    assert cursor.pending == {f"{GEN.format(1)}@e1"}
    assert LastModifiedCursor.from_json(cursor.to_json()) == cursor


def test_days_before_the_first_partition_are_recognised():
    request = PartitionRequest("generation", date(2026, 3, 1), ())
    assert request.before("2026-03-02") and not request.before("2026-03-01")
