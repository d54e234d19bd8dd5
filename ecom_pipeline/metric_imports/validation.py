"""Parse and validate one metric JSON file (`[{"name", "value", "timestamp"}, ...]`).

A file is imported whole or not at all, so validation runs over every record before anything is written and
the rejection names the file, the first bad record's index and field, and how many records were bad.
"""

import gc
import json
import math
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from ecom_pipeline.metric_imports.rejections import (
    EMPTY_ARRAY,
    INVALID_RECORD,
    NOT_AN_ARRAY,
    TOO_LARGE,
    MetricFileRejected,
    RecordProblem,
    Rejection,
)
from ecom_pipeline.metric_imports.text_problems import (
    NonFiniteNumber,
    decode_utf8,
    json_rejection,
    reject_constant,
)

MAX_NAME_LENGTH = 255
# Integers beyond this lose precision as double precision; far beyond it they overflow float().
_MAX_EXACT_INT = 2**53
_INFINITY = math.inf
_MAX_LISTED_PROBLEMS = 20
# ISO-8601 spellings that PostgreSQL reads as the same instant as Python does, so COPY can take the file's own
# text; anything else Python accepts (basic format, week dates, ...) is re-rendered with isoformat().
_POSTGRES_READABLE_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z"
).match
# Every line `YYYY-MM-DDTHH:MM:SSZ` (ASCII digits only): one regular-expression pass over a whole column.
_ALL_UTC_SECONDS = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n)*\Z").match


class MetricRecord(NamedTuple):
    """One record of a validated file, for previews and tests; the import itself works on `MetricFile`'s
    columns and never builds these."""

    name: str
    value: float
    timestamp: datetime  # timezone-aware, in the offset the file gave


@dataclass(frozen=True)
class MetricFile:
    """A validated file as three columns in file order: building a record object per row was a fifth of
    the parse time, and the COPY text is made from columns anyway."""

    file_key: str
    size_bytes: int
    names: list[str] = field(repr=False)
    values: list[float] = field(repr=False)
    # Each instant as ISO-8601 text PostgreSQL reads as the same instant: the file's own text when it
    # already is, else Python's rendering of it.
    timestamps: list[str] = field(repr=False)

    def __len__(self) -> int:
        return len(self.names)

    def records(self, limit: int | None = None) -> list[MetricRecord]:
        """The first `limit` records (all when None) as objects."""
        rows = zip(self.names[:limit], self.values[:limit], self.timestamps[:limit], strict=True)
        return [MetricRecord(name, value, datetime.fromisoformat(text)) for name, value, text in rows]


def check_size(file_key: str, size_bytes: int, max_bytes: int) -> None:
    """Reject before downloading: an oversized file is never read into memory."""
    if size_bytes > max_bytes:
        raise MetricFileRejected(
            Rejection(
                file_key=file_key,
                reason_code=TOO_LARGE,
                message=f"{file_key}: file is {size_bytes:,} bytes, over the {max_bytes:,}-byte limit",
            )
        )


def parse_metric_file(file_key: str, payload: bytes, max_bytes: int) -> MetricFile:
    """The validated records of a file, or MetricFileRejected naming the file, record index and field."""
    check_size(file_key, len(payload), max_bytes)
    text = decode_utf8(file_key, payload)
    with _collector_paused():
        try:
            document = json.loads(text, parse_constant=reject_constant)
        except (json.JSONDecodeError, NonFiniteNumber) as exc:
            raise MetricFileRejected(json_rejection(file_key, text, exc)) from None
        return _validated_file(file_key, len(payload), document)


_gc_pauses = 0
_gc_pauses_lock = threading.Lock()
_gc_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A file becomes tens of thousands of small containers that all stay alive: the cyclic garbage collector
    would re-scan them again and again while they are built (about half the parse time), and finds nothing.
    The collector is process-wide and files are parsed on several threads, so it stays paused until the last
    parse in progress ends, and is then left as the first one found it."""
    global _gc_pauses, _gc_was_enabled
    with _gc_pauses_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_pauses_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _validated_file(file_key: str, size_bytes: int, document: object) -> MetricFile:
    if not isinstance(document, list):
        raise MetricFileRejected(
            Rejection(
                file_key=file_key,
                reason_code=NOT_AN_ARRAY,
                message=f"{file_key}: top level is a JSON {_json_type(document)}, expected an array of records",
            )
        )
    if not document:
        raise MetricFileRejected(
            Rejection(
                file_key=file_key,
                reason_code=EMPTY_ARRAY,
                message=f"{file_key}: the array is empty, there is nothing to import",
                total_records=0,
            )
        )
    columns = _clean_columns(document)
    if columns is not None:
        return MetricFile(file_key, size_bytes, *columns)
    names, values, timestamps, problems = _validate_records(document)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more invalid records)" if len(problems) > 1 else ""
        raise MetricFileRejected(
            Rejection(
                file_key=file_key,
                reason_code=INVALID_RECORD,
                message=f"{file_key}: {first.describe()}{more}",
                record_index=first.record_index,
                field=first.field,
                invalid_records=len(problems),
                total_records=len(document),
                problems=tuple(problems[:_MAX_LISTED_PROBLEMS]),
            )
        )
    return MetricFile(file_key, size_bytes, names, values, timestamps)


def _clean_columns(document: list) -> tuple[list[str], list[float], list[str]] | None:
    """The columns of a file whose records all have the common clean shape (string name, finite number,
    `YYYY-MM-DDTHH:MM:SSZ` timestamp, no repeats), checked a whole column at a time with builtins, which
    is about three times faster than the per-record loop. None sends the file through that loop, which
    accepts the other timestamp spellings and names every bad record."""
    try:
        names = [record["name"] for record in document]
        values = [record["value"] for record in document]
        timestamps = [record["timestamp"] for record in document]
        distinct_names = set(names)  # unhashable names (arrays, objects) raise TypeError
    except (TypeError, KeyError):  # a record that is not an object, or lacks a field
        return None
    if not all(
        type(name) is str and 0 < len(name) <= MAX_NAME_LENGTH and not name.isspace() and "\x00" not in name
        for name in distinct_names
    ):
        return None
    value_types = set(map(type, values))
    if not value_types <= {float, int}:  # bool is its own type here, so `true` falls through
        return None
    if int in value_types:
        if not all(-_MAX_EXACT_INT < v < _MAX_EXACT_INT for v in values if type(v) is int):
            return None
        values = list(map(float, values))
    if _INFINITY in values or -_INFINITY in values:
        return None
    if set(map(type, timestamps)) != {str} or not _ALL_UTC_SECONDS("\n".join(timestamps) + "\n"):
        return None
    try:
        deque(map(datetime.fromisoformat, timestamps), maxlen=0)  # the digits' ranges: month 13, Feb 30
    except ValueError:
        return None
    if len(set(zip(names, timestamps, strict=True))) != len(timestamps):
        return None  # canonical texts are equal exactly when their instants are
    return names, values, timestamps


def _validate_records(document: list) -> tuple[list[str], list[float], list[str], list[RecordProblem]]:
    """Columns in file order and the problems found. The inline checks accept what is valid; any record they
    do not accept goes through `_describe_problem` for the reason."""
    names: list[str] = []
    values: list[float] = []
    timestamps: list[str] = []
    problems: list[RecordProblem] = []
    first_seen: dict[tuple[str, object], int] = {}
    fromisoformat = datetime.fromisoformat
    readable = _POSTGRES_READABLE_TIMESTAMP
    for index, raw in enumerate(document):
        if type(raw) is dict:
            name = raw.get("name")
            value = raw.get("value")
            text = raw.get("timestamp")
            if (
                type(name) is str
                and 0 < len(name) <= MAX_NAME_LENGTH
                and (
                    (type(value) is float and -_INFINITY < value < _INFINITY)
                    or (type(value) is int and -_MAX_EXACT_INT < value < _MAX_EXACT_INT)
                )
                and type(text) is str
                and not name.isspace()
                and "\x00" not in name
            ):
                try:
                    timestamp = fromisoformat(text)
                except ValueError:
                    timestamp = None
                if timestamp is not None and timestamp.tzinfo is not None:
                    if _is_utc_seconds_text(text):
                        instant: object = text  # canonical already: text equality is instant equality
                        shown = text
                    else:
                        instant = _instant_key(timestamp)
                        shown = text if readable(text) else timestamp.isoformat()
                    earlier = first_seen.setdefault((name, instant), index)
                    if earlier == index:
                        names.append(name)
                        values.append(float(value))
                        timestamps.append(shown)
                    else:
                        problems.append(
                            RecordProblem(
                                index, None, f"duplicates record {earlier} (same name and timestamp)"
                            )
                        )
                    continue
        problems.append(_describe_problem(index, raw))
    return names, values, timestamps, problems


def _is_utc_seconds_text(text: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SSZ`, given that fromisoformat accepted `text`: the spelling
    almost every file uses, recognised with a few character tests instead of a regular expression. Index 7
    rules out week dates and basic dates, 16 a basic time, 10 the arbitrary separators Python allows."""
    return len(text) == 20 and text[19] == "Z" and text[7] == "-" and text[16] == ":" and text[10] == "T"


def _instant_key(timestamp: datetime) -> object:
    """The duplicate-detection key of any other spelling: the canonical UTC text when the instant falls on a
    whole second (so "+02:00" and "Z" spellings of it collide with the fast path's text), else the aware
    datetime itself (which hashes and compares as an instant, and cannot equal a whole-second text)."""
    if timestamp.microsecond:
        return timestamp
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_problem(index: int, raw: object) -> RecordProblem:
    if not isinstance(raw, dict):
        return RecordProblem(index, None, f"is a JSON {_json_type(raw)}, expected an object")
    problem = _check_name(raw) or _check_value(raw) or _parse_timestamp(raw)[1]
    if problem is None:  # the hot path and these checks disagree: a bug, not bad input
        raise AssertionError(f"record {index} was refused without a reason")
    return RecordProblem(index, *problem)


def _check_name(raw: dict) -> tuple[str, str] | None:
    if "name" not in raw:
        return "name", "is missing"
    name = raw["name"]
    if not isinstance(name, str):
        return "name", f"is a JSON {_json_type(name)}, expected a string"
    if not name.strip():
        return "name", "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return "name", f"is {len(name)} characters, over the {MAX_NAME_LENGTH}-character limit"
    if "\x00" in name:
        return "name", "contains a NUL character"
    return None


def _check_value(raw: dict) -> tuple[str, str] | None:
    if "value" not in raw:
        return "value", "is missing"
    value = raw["value"]
    # bool is an int subclass in Python, but `true` is not a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "value", f"is a JSON {_json_type(value)} ({_preview(value)}), expected a number"
    if isinstance(value, int) and not -_MAX_EXACT_INT < value < _MAX_EXACT_INT:
        return "value", f"integer {_preview(value)} is outside +-2**53, not exact as double precision"
    if not math.isfinite(value):  # a literal like 1e400 parses to infinity
        return "value", "is beyond the double-precision range"
    return None


def _parse_timestamp(raw: dict) -> tuple[datetime | None, tuple[str, str] | None]:
    if "timestamp" not in raw:
        return None, ("timestamp", "is missing")
    text = raw["timestamp"]
    if not isinstance(text, str):
        return None, ("timestamp", f"is a JSON {_json_type(text)}, expected an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, ("timestamp", f"{_preview(text)} is not an ISO-8601 timestamp")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # A naive time would be read in the database session's time zone: ambiguous, so refused.
        return None, ("timestamp", f"{_preview(text)} has no UTC offset (add 'Z' or '+00:00')")
    return parsed, None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _preview(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
