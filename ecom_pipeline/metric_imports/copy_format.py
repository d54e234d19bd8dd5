"""Rows of a validated metric file in PostgreSQL COPY text format (tab-separated, backslash escapes).

COPY is the bulk path the import uses: one statement per file instead of one INSERT per record.
"""

from ecom_pipeline.metric_imports.validation import MetricFile

# Column order of the COPY statement into `metrics`.
COPY_COLUMNS = ("name", "value", "timestamp", "source_file")

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape_copy_text(value: str) -> str:
    """Escape one text field so tabs, newlines and backslashes in names cannot shift columns or rows."""
    return value.translate(_ESCAPES)


def copy_text(file: MetricFile) -> str:
    """One line per record: name, value (shortest round-trip repr), timestamp text, the file's key."""
    tail = f"\t{escape_copy_text(file.file_key)}\n"
    names = file.names
    escaped = {name: escape_copy_text(name) for name in set(names)}  # a file repeats a handful of names
    if any(plain != column for plain, column in escaped.items()):
        names = [escaped[name] for name in names]
    return "".join(
        [
            f"{name}\t{value!r}\t{timestamp}{tail}"
            for name, value, timestamp in zip(names, file.values, file.timestamps, strict=True)
        ]
    )
