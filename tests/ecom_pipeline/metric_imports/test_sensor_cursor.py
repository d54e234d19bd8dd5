"""`metric_imports_sensor`'s cursor scenarios, against the shared `LastModifiedCursor` it uses."""

import json
from datetime import UTC, datetime, timedelta

from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import LastModifiedCursor

T0 = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def _obj(key: str, seconds: int, etag: str = "abc") -> S3ObjectVersion:
    return S3ObjectVersion(key=key, etag=etag, size=10, last_modified=T0 + timedelta(seconds=seconds))


def test_first_tick_sees_everything_oldest_first():
    objects = [_obj("imports/b.json", 5), _obj("imports/a.json", 1)]
    fresh, cursor = LastModifiedCursor().select_new(objects)
    assert [o.key for o in fresh] == ["imports/a.json", "imports/b.json"]
    assert cursor.last_modified == T0 + timedelta(seconds=5)
    assert cursor.versions_at_last_modified == {"imports/b.json@abc"}


def test_cursor_round_trips_and_skips_seen_objects():
    objects = [_obj("imports/a.json", 1), _obj("imports/b.json", 5)]
    _, cursor = LastModifiedCursor().select_new(objects)
    cursor = LastModifiedCursor.from_json(cursor.to_json())
    fresh, same = cursor.select_new(objects)
    assert fresh == [] and same == cursor
    assert LastModifiedCursor.from_json(None) == LastModifiedCursor()


def test_a_cursor_stored_by_the_old_sensor_still_parses():
    """The sensor's cursor before it used `LastModifiedCursor` had no `pending` field."""
    stored = json.dumps(
        {"last_modified": (T0 + timedelta(seconds=5)).isoformat(), "versions": ["imports/a.json@abc"]}
    )
    cursor = LastModifiedCursor.from_json(stored)
    assert cursor == LastModifiedCursor(T0 + timedelta(seconds=5), frozenset({"imports/a.json@abc"}))
    fresh, _ = cursor.select_new([_obj("imports/a.json", 5), _obj("imports/b.json", 5)])
    assert [o.key for o in fresh] == ["imports/b.json"]


def test_object_in_the_same_second_as_the_cursor_is_not_lost():
    _, cursor = LastModifiedCursor().select_new([_obj("imports/a.json", 5)])
    fresh, cursor = cursor.select_new([_obj("imports/a.json", 5), _obj("imports/b.json", 5)])
    assert [o.key for o in fresh] == ["imports/b.json"]
    assert cursor.versions_at_last_modified == {"imports/a.json@abc", "imports/b.json@abc"}


def test_overwritten_file_is_new_again():
    _, cursor = LastModifiedCursor().select_new([_obj("imports/a.json", 5, "v1")])
    fresh, _ = cursor.select_new([_obj("imports/a.json", 9, "v2")])
    assert [(o.key, o.etag) for o in fresh] == [("imports/a.json", "v2")]


def test_file_overwritten_within_the_cursor_second_is_new_again():
    _, cursor = LastModifiedCursor().select_new([_obj("imports/a.json", 5, "v1")])
    fresh, _ = cursor.select_new([_obj("imports/a.json", 5, "v2")])
    assert [o.etag for o in fresh] == ["v2"]


def test_limit_leaves_the_rest_for_the_next_tick_even_within_one_second():
    objects = [_obj("imports/a.json", 1), _obj("imports/b.json", 2), _obj("imports/c.json", 2)]
    first, cursor = LastModifiedCursor().select_new(objects, limit=2)
    second, cursor = cursor.select_new(objects, limit=2)
    third, _ = cursor.select_new(objects, limit=2)
    assert [o.key for o in first] == ["imports/a.json", "imports/b.json"]
    assert [o.key for o in second] == ["imports/c.json"]
    assert third == []
