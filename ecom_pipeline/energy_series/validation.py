"""Row rules for energy series records, with every dropped row counted under one reason.

InfluxDB cannot store a point without a timestamp, a NaN/inf value or a tag whose value holds a newline,
and a missing tag or field silently changes which series a point lands in. `drop_invalid_records`
(DROP_INVALID_RECORDS) decides whether such rows are dropped and counted or fail the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.field_types import cast_fields

# In rule order: a row failing several rules is counted under the first.
NULL_TIMESTAMP = "null_timestamp"
MISSING_TAG = "missing_tag"
INVALID_TAG_VALUE = "invalid_tag_value"
UNCASTABLE_FIELD = "uncastable_field"  # not convertible to the field's declared type
NULL_FIELD = "null_field"
NON_FINITE_FIELD = "non_finite_field"
# Not invalid: InfluxDB keeps only the last of several points with one series and timestamp, so do we.
DUPLICATE_POINT = "duplicate_point"


class InvalidRecordsError(ValueError):
    """Invalid rows while dropping is disabled; the message names file, row, field and reason."""


@dataclass(frozen=True)
class Violation:
    row: int
    column: str
    reason: str


@dataclass
class ValidationResult:
    """The rows to write, and what happened to the others."""

    valid: pa.Table
    input_rows: int
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    first_violation: dict[str, Violation] = field(default_factory=dict)

    @property
    def dropped_rows(self) -> int:
        return sum(self.dropped_by_reason.values())


def _as_bool(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, True).to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class _TagScan:
    missing: np.ndarray
    invalid: np.ndarray
    codes: np.ndarray  # one integer per distinct value (nulls -1), for the duplicate pre-check


def _scan_tag(table: pa.Table, tag: str) -> _TagScan:
    """Missing/invalid masks of one tag column, computed on its distinct values for speed."""
    column = table.column(tag)
    nulls = _as_bool(pc.is_null(column))
    if pa.types.is_integer(column.type):
        codes = np.asarray(pc.fill_null(column, -1).to_numpy(), dtype=np.int64)
        return _TagScan(missing=nulls, invalid=np.zeros(len(column), dtype=bool), codes=codes)
    encoded = pc.dictionary_encode(column).combine_chunks()
    values = pc.cast(encoded.dictionary, pa.string())
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
    if len(values) == 0:
        return _TagScan(missing=nulls, invalid=np.zeros(len(column), dtype=bool), codes=codes)
    empty_values = _as_bool(pc.equal(pc.utf8_length(values), 0))
    invalid_values = _as_bool(pc.match_substring_regex(values, r"[\n\r]"))
    safe = np.where(nulls, 0, codes)
    return _TagScan(missing=nulls | empty_values[safe], invalid=~nulls & invalid_values[safe], codes=codes)


def _field_masks(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(null, non-finite) masks of one field column."""
    column = table.column(name)
    nulls = _as_bool(pc.is_null(column))
    if pa.types.is_floating(column.type):
        finite = pc.is_finite(column)
        return nulls, ~nulls & ~_as_bool(finite)
    return nulls, np.zeros(len(column), dtype=bool)


def _rule_masks(
    table: pa.Table, spec: DatasetSpec, tag_scans: dict[str, _TagScan], uncastable: dict[str, np.ndarray]
) -> list[tuple[str, str, np.ndarray]]:
    """(reason, column, mask) per rule and column, in rule order; missing columns are skipped."""
    present = set(table.column_names)
    rules: list[tuple[str, str, np.ndarray]] = [
        (NULL_TIMESTAMP, spec.time_column, _as_bool(pc.is_null(table.column(spec.time_column))))
    ]
    field_masks = {name: _field_masks(table, name) for name in spec.fields if name in present}
    rules += [(MISSING_TAG, tag, scan.missing) for tag, scan in tag_scans.items()]
    rules += [(INVALID_TAG_VALUE, tag, scan.invalid) for tag, scan in tag_scans.items()]
    rules += [(UNCASTABLE_FIELD, name, mask) for name, mask in uncastable.items()]
    rules += [(NULL_FIELD, name, masks[0]) for name, masks in field_masks.items()]
    rules += [(NON_FINITE_FIELD, name, masks[1]) for name, masks in field_masks.items()]
    return rules


def _superseded(
    table: pa.Table, spec: DatasetSpec, keep: np.ndarray, tag_scans: dict[str, _TagScan]
) -> np.ndarray:
    """Rows among `keep` whose tag set and timestamp reappear in a later kept row.

    A hash of (timestamp, tag codes) finds candidate rows cheaply; only candidates are compared exactly.
    """
    superseded = np.zeros(len(keep), dtype=bool)
    timestamps = np.asarray(pc.fill_null(pc.cast(table.column(spec.time_column), pa.int64()), 0).to_numpy())
    mixed = timestamps.copy()
    with np.errstate(over="ignore"):
        for scan in tag_scans.values():
            mixed = mixed * np.int64(1_000_003) + scan.codes
    kept_rows = np.flatnonzero(keep)
    maybe = pd.Series(mixed[kept_rows]).duplicated(keep=False).to_numpy()
    if not maybe.any():
        return superseded
    candidates = kept_rows[maybe]
    keys = [spec.time_column, *tag_scans]
    subset = table.select(keys).take(pa.array(candidates)).append_column("__row", pa.array(candidates))
    last = subset.group_by(keys, use_threads=False).aggregate([("__row", "max")]).column("__row_max")
    superseded[candidates] = True
    superseded[last.to_numpy()] = False
    return superseded


def validate_rows(
    table: pa.Table, spec: DatasetSpec, source: str, *, drop_invalid: bool, first_row: int = 0
) -> ValidationResult:
    """Split `table` into rows to write and dropped rows counted by reason.

    With drop_invalid False any invalid row raises InvalidRecordsError naming the first one (its row number
    in the file: `first_row` is the table's first row there) (duplicates
    are never an error: they only repeat a point).
    """
    table, uncastable = cast_fields(table, spec.field_types)
    rows = table.num_rows
    dropped = np.zeros(rows, dtype=bool)
    counts: dict[str, int] = {}
    first: dict[str, Violation] = {}
    tag_scans = {tag: _scan_tag(table, tag) for tag in spec.tags if tag in table.column_names}
    for reason, column, mask in _rule_masks(table, spec, tag_scans, uncastable):
        new = mask & ~dropped
        hits = int(new.sum())
        if hits == 0:
            continue
        counts[reason] = counts.get(reason, 0) + hits
        row = int(np.argmax(new))
        if reason not in first or row < first[reason].row:
            first[reason] = Violation(row=row, column=column, reason=reason)
        dropped |= new

    if counts and not drop_invalid:
        violation = min(first.values(), key=lambda v: v.row)
        summary = ", ".join(f"{reason}={count}" for reason, count in counts.items())
        raise InvalidRecordsError(
            f"{source}: row {first_row + violation.row}: column {violation.column!r}: {violation.reason} "
            f"({sum(counts.values())} invalid rows: {summary}; DROP_INVALID_RECORDS is off)"
        )

    duplicates = _superseded(table, spec, ~dropped, tag_scans) if rows else np.zeros(0, dtype=bool)
    if duplicates.any():
        counts[DUPLICATE_POINT] = int(duplicates.sum())
        row = int(np.argmax(duplicates))
        first[DUPLICATE_POINT] = Violation(row=row, column=spec.time_column, reason=DUPLICATE_POINT)
        dropped |= duplicates

    valid = table.filter(pa.array(~dropped)) if dropped.any() else table
    return ValidationResult(valid=valid, input_rows=rows, dropped_by_reason=counts, first_violation=first)
