from datetime import UTC, datetime

from ecom_pipeline.metric_imports.copy_format import copy_text, escape_copy_text
from ecom_pipeline.metric_imports.validation import MetricRecord

TS = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def test_one_tab_separated_line_per_record():
    text = copy_text([MetricRecord("cpu", 1.5, TS), MetricRecord("mem", 1e20, TS)], "imports/a.json")
    assert text == (
        "cpu\t1.5\t2026-03-17T12:00:00+00:00\timports/a.json\n"
        "mem\t1e+20\t2026-03-17T12:00:00+00:00\timports/a.json\n"
    )


def test_control_characters_cannot_shift_columns_or_rows():
    line = copy_text([MetricRecord("a\tb\nc\\d\re", 0.1, TS)], "imports/x\ty.json")
    assert line.count("\t") == 3 and line.count("\n") == 1
    assert line.startswith("a\\tb\\nc\\\\d\\re\t")
    assert escape_copy_text("plain") == "plain"


def test_float_repr_round_trips():
    value = 0.1 + 0.2
    line = copy_text([MetricRecord("x", value, TS)], "k")
    assert float(line.split("\t")[1]) == value


def test_timestamp_text_is_copied_as_given_when_present():
    line = copy_text([MetricRecord("x", 1.0, TS, "2026-03-17T12:00:00Z")], "k")
    assert line == "x\t1.0\t2026-03-17T12:00:00Z\tk\n"
