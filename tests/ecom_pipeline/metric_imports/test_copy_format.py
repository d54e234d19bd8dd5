from ecom_pipeline.metric_imports.copy_format import copy_text, escape_copy_text
from ecom_pipeline.metric_imports.validation import MetricFile

TS = "2026-03-17T12:00:00Z"


def _file(names: list[str], values: list[float], key: str = "imports/a.json") -> MetricFile:
    return MetricFile(key, 0, names, values, [TS] * len(names))


def test_one_tab_separated_line_per_record():
    text = copy_text(_file(["cpu", "mem"], [1.5, 1e20]))
    assert (
        text
        == "cpu\t1.5\t2026-03-17T12:00:00Z\timports/a.json\nmem\t1e+20\t2026-03-17T12:00:00Z\timports/a.json\n"
    )


def test_control_characters_cannot_shift_columns_or_rows():
    text = copy_text(_file(["a\tb\nc\\d\re", "plain"], [0.1, 0.2], key="imports/x\ty.json"))
    first, second = text.splitlines(keepends=True)
    assert first.count("\t") == 3 and text.count("\n") == 2
    assert first.startswith("a\\tb\\nc\\\\d\\re\t") and first.endswith("\timports/x\\ty.json\n")
    assert second.startswith("plain\t0.2\t")
    assert escape_copy_text("plain") == "plain"


def test_float_repr_round_trips():
    value = 0.1 + 0.2
    line = copy_text(_file(["x"], [value]))
    assert float(line.split("\t")[1]) == value


def test_empty_file_gives_no_lines():
    assert copy_text(_file([], [])) == ""
