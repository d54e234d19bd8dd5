"""Vendor CSV to staged rows: strict about the file, lenient about rows.

File-level problems (bytes that are not UTF-8, no header, a required column missing, broken quoting) raise
`UploadFileError`: nothing of such a file can be trusted, so the whole upload is refused. Row-level problems
(a wrong number of fields, a price that is not a number) never raise: the row is still staged, carrying its
`parse_errors`, and the validator rejects it with those reasons, so every data row is accounted for.
The outcome of each bad-input case is tabled in docs/product_uploads.md.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

PRODUCT_COLUMNS = (
    "vendor_product_id",
    "product_name",
    "category",
    "subcategory",
    "description",
    "sku",
    "brand",
    "price",
    "compare_at_price",
    "stock_quantity",
    "unit",
    "weight_kg",
    "dimensions_cm",
    "image_url",
)
REQUIRED_COLUMNS = ("vendor_product_id", "product_name", "category", "sku", "price", "stock_quantity")
DECIMAL_COLUMNS = ("price", "compare_at_price", "weight_kg")
INTEGER_COLUMNS = ("stock_quantity",)
ROW_FIELD = "row"  # the `field` of errors about a whole row (wrong number of fields)

_BOM = "\ufeff"
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


class UploadFileError(ValueError):
    """The file as a whole cannot be parsed; the message names the file and, where known, the line."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class StagedRow:
    """One data row: typed values of the known columns (absent when empty) plus what could not be parsed."""

    row_number: int  # 1-based among data rows (REC_00001 is row 1); blank lines are not rows
    line_number: int  # physical line where the row starts (header is line 1), for the vendor
    product_data: dict[str, Any]
    parse_errors: list[FieldError] = field(default_factory=list)


@dataclass
class ParsedUpload:
    rows: list[StagedRow]
    columns: list[str]  # header as found (normalised)
    ignored_columns: list[str]  # unknown header columns, ignored
    missing_optional_columns: list[str]  # optional columns the header lacks, treated as empty
    blank_lines: int  # blank lines skipped (not data rows)
    had_bom: bool


def record_id(row_number: int, total_rows: int) -> str:
    """`REC_00001`...; wider than 5 digits only for files over 99,999 rows, so ids always sort by row."""
    width = max(5, len(str(total_rows)))
    return f"REC_{row_number:0{width}d}"


def decode_upload(data: bytes, source: str) -> tuple[str, bool]:
    """UTF-8 text without BOM; refuses other encodings with the byte offset and line of the first bad byte."""
    if not data:
        raise UploadFileError(source, "object is empty (0 bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UploadFileError(
            source,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save the file as UTF-8",
            line=line,
        ) from None
    had_bom = text.startswith(_BOM)
    return (text[1:] if had_bom else text), had_bom


def check_upload_size(size_bytes: int, max_bytes: int, source: str) -> None:
    """Refuse a file over the documented limit before reading it: parsing holds the whole file and its rows in
    memory (several times its size), so the limit is what bounds a step's memory (docs/product_uploads.md)."""
    if size_bytes > max_bytes:
        raise UploadFileError(
            source,
            f"file is {size_bytes:,} bytes, over the {max_bytes:,}-byte limit for one upload "
            "(product_uploads_config.max_upload_bytes); split it into smaller files",
        )


def count_data_lines(data: bytes) -> int:
    """Rough row count of a refused file (non-blank lines after the header), so upload_history shows its size."""
    lines = [line for line in data.splitlines() if line.strip()]
    return max(len(lines) - 1, 0)


def parse_upload_csv(data: bytes, source: str) -> ParsedUpload:
    """Parse a vendor CSV (see the module docstring for what raises and what becomes a row error)."""
    text, had_bom = decode_upload(data, source)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UploadFileError(source, "contains a NUL byte (binary file?)", line=line)
    records = _records(text, source)
    header_line, header = next(records, (0, None))
    if header is None:
        raise UploadFileError(source, "no header row (file has only blank lines)")
    columns = _check_header(header, source, header_line)
    known = [(index, name) for index, name in enumerate(columns) if name in PRODUCT_COLUMNS]
    rows: list[StagedRow] = []
    blank_lines = header_line - 1
    for line_number, values in records:
        if not values or (len(values) == 1 and not values[0].strip()):
            blank_lines += 1
            continue
        rows.append(_stage_row(len(rows) + 1, line_number, values, columns, known))
    return ParsedUpload(
        rows=rows,
        columns=columns,
        ignored_columns=[name for name in columns if name not in PRODUCT_COLUMNS],
        missing_optional_columns=[name for name in PRODUCT_COLUMNS if name not in columns],
        blank_lines=blank_lines,
        had_bom=had_bom,
    )


def _records(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) per CSV record; blank lines before the header are skipped; CRLF and LF both work."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    seen_header = False
    while True:
        start_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UploadFileError(source, f"malformed CSV: {exc}", line=start_line) from None
        if not seen_header and (not values or not "".join(values).strip()):
            continue
        seen_header = True
        yield start_line, values


def _check_header(header: list[str], source: str, line: int) -> list[str]:
    columns = [name.strip().lower() for name in header]
    duplicates = sorted({name for name in columns if columns.count(name) > 1 and name})
    if duplicates:
        raise UploadFileError(source, f"duplicate header columns: {', '.join(duplicates)}", line=line)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise UploadFileError(
            source,
            f"header lacks required columns: {', '.join(missing)} (found: {', '.join(columns)})",
            line=line,
        )
    return columns


def _stage_row(
    row_number: int, line_number: int, values: list[str], columns: list[str], known: list[tuple[int, str]]
) -> StagedRow:
    errors: list[FieldError] = []
    if len(values) != len(columns):
        errors.append(FieldError(ROW_FIELD, f"row has {len(values)} fields, header has {len(columns)}"))
    data: dict[str, Any] = {}
    for index, name in known:
        if index >= len(values):
            continue
        raw = values[index].strip()
        if not raw:
            continue
        value, error = _convert(name, raw)
        data[name] = value
        if error:
            errors.append(FieldError(name, error))
    return StagedRow(row_number, line_number, data, errors)


def _convert(name: str, raw: str) -> tuple[Any, str | None]:
    """Typed value, or the raw text plus a reason when it does not parse (kept so the report can show it)."""
    if name in DECIMAL_COLUMNS:
        if not _DECIMAL.match(raw):
            return raw, f"{raw!r} is not a decimal number (use digits and '.', e.g. 19.99)"
        try:
            return Decimal(raw), None
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            return raw, f"{raw!r} is not a decimal number"
    if name in INTEGER_COLUMNS:
        if not _INTEGER.match(raw):
            return raw, f"{raw!r} is not a whole number"
        return int(raw), None
    return raw, None
