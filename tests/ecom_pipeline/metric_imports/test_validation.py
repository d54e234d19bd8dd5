import json
from datetime import UTC, datetime

import pytest

from ecom_pipeline.metric_imports import rejections as r
from ecom_pipeline.metric_imports import validation as v

KEY = "imports/2026/03/17/metrics.json"
LIMIT = 1_000_000


def _payload(records: object) -> bytes:
    return json.dumps(records).encode()


def _good(n: int = 3) -> list[dict]:
    return [
        {"name": f"metric_{i}", "value": i * 1.5, "timestamp": f"2026-03-17T12:0{i}:00Z"} for i in range(n)
    ]


def _rejection(payload: bytes, max_bytes: int = LIMIT) -> r.Rejection:
    with pytest.raises(r.MetricFileRejected) as info:
        v.parse_metric_file(KEY, payload, max_bytes)
    assert KEY in str(info.value)
    return info.value.rejection


def test_valid_file_parses_every_record_to_utc():
    records = _good(3) + [{"name": "offset", "value": 7, "timestamp": "2026-03-17T14:00:00+02:00"}]
    parsed = v.parse_metric_file(KEY, _payload(records), LIMIT)
    rows = parsed.records()
    assert [r.name for r in rows] == ["metric_0", "metric_1", "metric_2", "offset"]
    assert rows[1].value == 1.5
    assert rows[3].value == 7.0 and isinstance(rows[3].value, float)
    assert rows[3].timestamp == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    assert len(parsed) == 4
    assert parsed.size_bytes == len(_payload(records))


def test_extra_fields_and_utf8_bom_are_accepted():
    payload = "\ufeff".encode() + _payload(
        [{"name": "ümlaut", "value": 1, "timestamp": "2026-01-01T00:00:00Z", "unit": "x"}]
    )
    parsed = v.parse_metric_file(KEY, payload, LIMIT)
    assert parsed.names == ["ümlaut"] and parsed.values == [1.0]


def test_invalid_json_names_the_broken_record():
    text = json.dumps(_good(3))
    broken = text.replace('"metric_2", "value": 3.0', '"metric_2", "value": 3.0,,')
    rejection = _rejection(broken.encode())
    assert rejection.reason_code == r.INVALID_JSON
    assert rejection.record_index == 2
    assert "record 2" in rejection.message and "line 1" in rejection.message


def test_truncated_file_is_invalid_json():
    rejection = _rejection(json.dumps(_good(2))[:-10].encode())
    assert rejection.reason_code == r.INVALID_JSON
    assert rejection.record_index == 1


@pytest.mark.parametrize(
    ("record", "field", "fragment"),
    [
        ({"value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "is missing"),
        ({"name": "", "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "is empty"),
        ({"name": 5, "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "expected a string"),
        ({"name": ["a"], "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "expected a string"),
        ({"name": " \t", "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "is empty"),
        ({"name": "a\x00b", "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "NUL"),
        ({"name": "a" * 256, "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"}, "name", "256 characters"),
        ({"name": "a", "timestamp": "2026-03-17T12:00:00Z"}, "value", "is missing"),
        ({"name": "a", "value": "12.5", "timestamp": "2026-03-17T12:00:00Z"}, "value", "expected a number"),
        ({"name": "a", "value": None, "timestamp": "2026-03-17T12:00:00Z"}, "value", "JSON null"),
        ({"name": "a", "value": True, "timestamp": "2026-03-17T12:00:00Z"}, "value", "JSON boolean"),
        ({"name": "a", "value": 2**60, "timestamp": "2026-03-17T12:00:00Z"}, "value", "outside +-2**53"),
        ({"name": "a", "value": 1.0}, "timestamp", "is missing"),
        ({"name": "a", "value": 1.0, "timestamp": "yesterday"}, "timestamp", "not an ISO-8601"),
        ({"name": "a", "value": 1.0, "timestamp": "2026-02-30T00:00:00Z"}, "timestamp", "not an ISO-8601"),
        ({"name": "a", "value": 1.0, "timestamp": "2026-13-01T00:00:00Z"}, "timestamp", "not an ISO-8601"),
        ({"name": "a", "value": 1.0, "timestamp": "2026-03-17T12:00:00"}, "timestamp", "no UTC offset"),
        ({"name": "a", "value": 1.0, "timestamp": 1742212800}, "timestamp", "expected an ISO-8601"),
    ],
)
def test_bad_record_names_file_index_and_field(record, field, fragment):
    records = _good(2) + [record] + [{"name": "last", "value": 0, "timestamp": "2026-03-18T00:00:00Z"}]
    rejection = _rejection(_payload(records))
    assert rejection.reason_code == r.INVALID_RECORD
    assert rejection.record_index == 2
    assert rejection.field == field
    assert f"record 2 field {field!r}" in rejection.message
    assert fragment in rejection.message
    assert rejection.total_records == 4 and rejection.invalid_records == 1


def test_every_bad_record_is_counted_and_the_first_is_named():
    records = _good(5)
    records[1]["value"] = "x"
    records[3] = "not an object"
    rejection = _rejection(_payload(records))
    assert rejection.record_index == 1
    assert rejection.invalid_records == 2
    assert "and 1 more invalid records" in rejection.message
    assert [p.record_index for p in rejection.problems] == [1, 3]
    assert "expected an object" in rejection.problems[1].problem


def test_nan_value_is_rejected_with_its_record():
    text = json.dumps(_good(3)).replace('"value": 1.5', '"value": NaN')
    rejection = _rejection(text.encode())
    assert rejection.reason_code == r.INVALID_RECORD
    assert rejection.record_index == 1 and rejection.field == "value"
    assert "NaN" in rejection.message


def test_value_beyond_double_precision_is_rejected_not_stored_as_infinity():
    text = json.dumps(_good(3)).replace('"value": 1.5', '"value": 1e400')
    rejection = _rejection(text.encode())
    assert rejection.record_index == 1 and rejection.field == "value"
    assert "beyond the double-precision range" in rejection.message


def test_clean_files_take_the_column_path_with_the_per_record_loops_result():
    """The whole-column checks must accept exactly what the per-record loop accepts, with the same columns."""
    records = _good(4) + [{"name": "int", "value": 3, "timestamp": "2026-03-17T13:00:00Z", "unit": "x"}]
    columns = v._clean_columns(records)
    assert columns is not None
    names, values, timestamps, problems = v._validate_records(records)
    assert columns == (names, values, timestamps) and not problems
    assert columns[1][-1] == 3.0 and isinstance(columns[1][-1], float)


@pytest.mark.parametrize(
    "odd",
    [
        {"name": "m", "value": 1.0, "timestamp": "2026-03-17T14:00:00+02:00"},  # valid, another spelling
        {"name": "m", "value": 1.0, "timestamp": "２０２６-03-17T12:00:00Z"},  # non-ASCII digits
        {"name": "metric_0", "value": 1.0, "timestamp": "2026-03-17T12:00:00Z"},  # duplicate of record 0
        ["not", "an", "object"],
        {"name": "m", "value": False, "timestamp": "2026-03-17T12:00:00Z"},
    ],
)
def test_anything_unusual_leaves_the_column_path_for_the_per_record_loop(odd):
    assert v._clean_columns(_good(3) + [odd]) is None


def test_duplicate_name_and_timestamp_is_rejected():
    records = _good(3) + [dict(_good(3)[1], value=99.0)]
    rejection = _rejection(_payload(records))
    assert rejection.record_index == 3
    assert "duplicates record 1" in rejection.message


def test_same_instant_in_another_offset_is_a_duplicate():
    records = [
        {"name": "a", "value": 1, "timestamp": "2026-03-17T12:00:00Z"},
        {"name": "a", "value": 2, "timestamp": "2026-03-17T14:00:00+02:00"},
    ]
    assert _rejection(_payload(records)).record_index == 1


@pytest.mark.parametrize(
    "spelling",
    [
        "2026-03-17 12:00:00Z",
        "2026-03-17T12:00:00+00:00",
        "2026-03-17T13:00:00.000+01:00",
        "20260317T120000Z",
        "2026-03-17T12:00Z",
    ],
)
@pytest.mark.parametrize("canonical_first", [True, False])
def test_every_spelling_of_an_instant_collides_with_the_canonical_one(spelling, canonical_first):
    canonical = {"name": "a", "value": 1, "timestamp": "2026-03-17T12:00:00Z"}
    other = {"name": "a", "value": 2, "timestamp": spelling}
    records = [canonical, other] if canonical_first else [other, canonical]
    assert _rejection(_payload(records)).record_index == 1


def test_instants_with_fractions_collide_across_offsets_and_differ_from_whole_seconds():
    records = [
        {"name": "a", "value": 1, "timestamp": "2026-03-17T12:00:00.5Z"},
        {"name": "a", "value": 2, "timestamp": "2026-03-17T12:00:00Z"},
        {"name": "a", "value": 3, "timestamp": "2026-03-17T14:00:00.500+02:00"},
    ]
    rejection = _rejection(_payload(records))
    assert (rejection.record_index, rejection.invalid_records) == (2, 1)


def test_empty_array():
    rejection = _rejection(b"[]")
    assert rejection.reason_code == r.EMPTY_ARRAY
    assert rejection.record_index is None


@pytest.mark.parametrize("document", [{"name": "a"}, "text", 42, None])
def test_non_array_top_level(document):
    rejection = _rejection(_payload(document))
    assert rejection.reason_code == r.NOT_AN_ARRAY
    assert "expected an array" in rejection.message


def test_file_over_size_limit_is_rejected_before_parsing():
    payload = _payload(_good(50))
    rejection = _rejection(payload, max_bytes=len(payload) - 1)
    assert rejection.reason_code == r.TOO_LARGE
    assert f"{len(payload):,} bytes" in rejection.message
    with pytest.raises(r.MetricFileRejected):
        v.check_size(KEY, 10_000, 9_999)
    v.check_size(KEY, 9_999, 9_999)


def test_non_utf8_bytes_name_offset_and_record():
    text = json.dumps(_good(3))
    offset = text.index("metric_2")
    payload = text[:offset].encode() + b"\xff\xfe" + text[offset:].encode()
    rejection = _rejection(payload)
    assert rejection.reason_code == r.NOT_UTF8
    assert rejection.record_index == 2
    assert f"0xff at offset {offset}" in rejection.message


def test_latin1_file_is_not_utf8():
    payload = json.dumps(
        [{"name": "caf\u00e9", "value": 1, "timestamp": "2026-01-01T00:00:00Z"}], ensure_ascii=False
    )
    rejection = _rejection(payload.encode("latin-1"))
    assert rejection.reason_code == r.NOT_UTF8
    assert rejection.record_index == 0


def test_rejection_as_dict_is_json_serialisable():
    records = _good(2)
    records[0]["value"] = "bad"
    data = _rejection(_payload(records)).as_dict()
    assert json.loads(json.dumps(data))["problems"][0].startswith("record 0 field 'value'")


@pytest.mark.parametrize(
    ("given", "copied"),
    [
        ("2026-03-17T12:00:00Z", "2026-03-17T12:00:00Z"),
        ("2026-03-17T14:00:00.25+02:00", "2026-03-17T14:00:00.25+02:00"),
        ("20260317T120000Z", "2026-03-17T12:00:00+00:00"),  # basic format: PostgreSQL gets it re-rendered
        ("2026-03-17T12:00Z", "2026-03-17T12:00:00+00:00"),
    ],
)
def test_timestamp_text_for_copy_is_the_files_own_only_when_postgres_reads_it_alike(given, copied):
    parsed = v.parse_metric_file(KEY, _payload([{"name": "m", "value": 1, "timestamp": given}]), LIMIT)
    assert parsed.timestamps == [copied]
    assert parsed.records()[0].timestamp == datetime.fromisoformat(given)


def test_parsing_leaves_the_garbage_collector_as_it_found_it():
    import gc

    assert gc.isenabled()
    v.parse_metric_file(KEY, _payload(_good(2)), LIMIT)
    assert gc.isenabled()
    with pytest.raises(r.MetricFileRejected):
        v.parse_metric_file(KEY, b"[1,", LIMIT)
    assert gc.isenabled()


def test_collector_stays_paused_until_the_last_overlapping_parse_ends():
    import gc

    with v._collector_paused():
        with v._collector_paused():  # another reader thread's parse
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
