import json
from datetime import UTC, datetime, timedelta

from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import SCAN_CLOCK_MARGIN, LastModifiedCursor, PrefixScanCursor

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def obj(key: str, seconds: int = 0, etag: str = "e") -> S3ObjectVersion:
    return S3ObjectVersion(key, etag, 1, T0 + timedelta(seconds=seconds))


def test_objects_are_offered_oldest_first_up_to_the_limit_and_the_rest_next_tick() -> None:
    objects = [obj("c", 2), obj("a", 0), obj("b", 1)]
    first, cursor = LastModifiedCursor().select_new(objects, limit=2)
    assert [o.key for o in first] == ["a", "b"]
    second, cursor = cursor.select_new(objects, limit=2)
    assert [o.key for o in second] == ["c"]
    assert cursor.select_new(objects)[0] == []


def test_a_file_landing_in_the_same_second_as_the_mark_is_still_found() -> None:
    _, cursor = LastModifiedCursor().select_new([obj("a", 5)])
    fresh, cursor = cursor.select_new([obj("a", 5), obj("b", 5)])
    assert [o.key for o in fresh] == ["b"]
    assert cursor.versions_at_last_modified == {"a@e", "b@e"}


def test_an_overwrite_in_the_same_second_is_a_new_version() -> None:
    _, cursor = LastModifiedCursor().select_new([obj("a", 5, "v1")])
    fresh, _ = cursor.select_new([obj("a", 5, "v2")])
    assert [o.version for o in fresh] == ["a@v2"]


def test_pending_versions_are_offered_again_until_requested() -> None:
    _, cursor = LastModifiedCursor().select_new([obj("late", 1), obj("new", 9)])
    waiting = cursor.with_pending(["late@e"])
    fresh, after = LastModifiedCursor.from_json(waiting.to_json()).select_new([obj("late", 1), obj("new", 9)])
    assert [o.key for o in fresh] == ["late"]
    assert after.last_modified == T0 + timedelta(seconds=9)
    assert after.pending == frozenset()


def test_json_round_trip_and_cursors_stored_without_pending_still_parse() -> None:
    cursor = LastModifiedCursor(T0, frozenset({"a@e"}), frozenset({"b@e"}))
    assert LastModifiedCursor.from_json(cursor.to_json()) == cursor
    stored = json.dumps({"last_modified": T0.isoformat(), "versions": ["a@e"]})
    assert LastModifiedCursor.from_json(stored) == LastModifiedCursor(T0, frozenset({"a@e"}))
    assert LastModifiedCursor.from_json(None) == LastModifiedCursor()


# PrefixScanCursor: the bounded scan of metric_imports_sensor and energy_series_sensor.


def test_a_cursor_stored_by_the_full_listing_sensors_keeps_what_they_had_seen() -> None:
    stored = LastModifiedCursor(T0, frozenset({"b@e"}), frozenset({"p@e"})).to_json()
    cursor = PrefixScanCursor.from_json(stored)
    assert not cursor.fast_path_wants(obj("a", -5)) and not cursor.fast_path_wants(obj("b", 0))
    assert cursor.fast_path_wants(obj("c", 0)) and cursor.fast_path_wants(obj("d", 1))
    assert cursor.pending == {"p@e"} and cursor.after == {}
    assert PrefixScanCursor.from_json(cursor.to_json()) == cursor
    assert PrefixScanCursor.from_json(None).fast_path_wants(obj("a", -5))  # no cursor: everything is new


def test_a_pass_offers_what_changed_since_the_previous_pass_began_once() -> None:
    cursor = PrefixScanCursor()
    cursor.start_pass_if_new(T0)  # the first pass: the last 15 minutes
    assert not cursor.sweep_wants(obj("old", -3600)) and cursor.sweep_wants(obj("recent", -60))
    cursor.offer(obj("recent", -60))
    cursor.offer(obj("old", -3600))  # older than the window: never offered again anyway, not remembered
    assert not cursor.sweep_wants(obj("recent", -60)) and not cursor.fast_path_wants(obj("recent", -60))
    assert cursor.sweep_wants(obj("recent", -60, etag="f"))  # an overwrite is a new version
    assert set(cursor.offered) == {"recent@e"}
    cursor.finish_pass(T0 + timedelta(hours=1))
    # The next pass covers everything since the first pass began (minus the clock margin).
    assert cursor.sweep_since == T0 - SCAN_CLOCK_MARGIN and cursor.passes == 1 and cursor.sweep_after == ""
    assert cursor.sweep_wants(obj("written during the pass", 600))
    cursor.finish_pass(T0 + timedelta(hours=2))
    assert cursor.offered == {}  # pruned once outside every pass's window
    assert json.loads(cursor.to_json())["v"] == 1
