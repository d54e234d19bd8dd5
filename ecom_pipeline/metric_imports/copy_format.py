"""Rows of a validated metric file in PostgreSQL COPY text format (tab-separated, backslash escapes).

COPY is the bulk path the import uses: one statement per file instead of one INSERT per record.
"""

from collections.abc import Iterable

from ecom_pipeline.metric_imports.validation import MetricRecord

# Column order of the COPY statement into `metrics`.
COPY_COLUMNS = ("name", "value", "timestamp", "source_file")

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape_copy_text(value: str) -> str:
    """Escape one text field so tabs, newlines and backslashes in names cannot shift columns or rows."""
    return value.translate(_ESCAPES)


def copy_text(records: Iterable[MetricRecord], source_file: str) -> str:
    """One line per record: name, value, timestamp (ISO-8601 with its offset), source_file."""
    tail = f"\t{escape_copy_text(source_file)}\n"
    escaped: dict[str, str] = {}  # a file repeats a handful of names thousands of times
    lines = []
    for name, value, timestamp, timestamp_text in records:
        column = escaped.get(name)
        if column is None:
            column = escaped[name] = escape_copy_text(name)
        lines.append(f"{column}\t{value!r}\t{timestamp_text or timestamp.isoformat()}{tail}")
    return "".join(lines)
