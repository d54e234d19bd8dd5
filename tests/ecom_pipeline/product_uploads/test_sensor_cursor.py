"""`UploadSensorCursor`: the sweep window and the JSON a deployed sensor has stored."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor


def test_sweep_window_moves_with_passes():
    cursor = UploadSensorCursor()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cursor.start_if_new(start)
    assert not cursor.sweep_wants(start - timedelta(hours=1))
    cursor.finish_sweep_pass(start + timedelta(minutes=30))
    assert cursor.sweep_wants(start - timedelta(minutes=10))  # within the clock margin of the previous pass
    restored = UploadSensorCursor.from_json(cursor.to_json())
    assert restored == cursor


def test_stored_cursor_json_still_parses():
    """The exact shape product_uploads_sensor has been storing (version 1): it must keep parsing."""
    stored = (
        '{"v":1,"vendors":{"VEND001":"uploads/VEND001/b.csv"},"sweep_after":"uploads/VEND002/a.csv",'
        '"sweep_started":"2026-01-01T00:30:00+00:00","sweep_since":"2025-12-31T23:45:00+00:00"}'
    )
    cursor = UploadSensorCursor.from_json(stored)
    assert cursor.vendor_after == {"VEND001": "uploads/VEND001/b.csv"}
    assert cursor.sweep_after == "uploads/VEND002/a.csv"
    assert cursor.sweep_started == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert cursor.to_json() == stored
    assert UploadSensorCursor.from_json(None) == UploadSensorCursor()
    with pytest.raises(ValueError, match="version"):
        UploadSensorCursor.from_json(json.dumps({"v": 2}))
