"""Vendor CSV to staged rows: strict about the file, lenient about rows.

File-level problems (bytes that are not UTF-8, no header, a required column missing, broken quoting) raise
`UploadFileError`: nothing of such a file can be trusted, so the whole upload is refused. Row-level problems
(a wrong number of fields, a price that is not a number) never raise: the row is still staged, carrying its
`parse_errors`, and the validator rejects it with those reasons, so every data row is accounted for.
The outcome of each bad-input case is tabled in docs/product_uploads.md.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

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

_BOM_BYTES = b"\xef\xbb\xbf"
_DECODE_CHUNK = 1 << 20
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


def check_upload_size(size_bytes: int, max_bytes: int, source: str) -> None:
    """Refuse a file over the documented limit before reading it: the step holds the file's bytes (not its
    rows, which are streamed), so the limit bounds that part of a step's memory (docs/product_uploads.md)."""
    if size_bytes > max_bytes:
        raise UploadFileError(
            source,
            f"file is {size_bytes:,} bytes, over the {max_bytes:,}-byte limit for one upload "
            "(product_uploads_config.max_upload_bytes); split it into smaller files",
        )


def count_data_lines(data: bytes) -> int:
    """Rough row count of a refused file (non-blank lines after the header), so upload_history shows its size."""
    lines = sum(1 for line in io.BytesIO(data) if line.strip())
    return max(lines - 1, 0)


class UploadFile:
    """A vendor CSV checked as a whole up front, whose rows are then streamed, as often as needed.

    Opening it decodes and parses the whole file once without keeping a row (so every file-level refusal
    happens before anything is staged, and the row count that record ids need is known); `rows()` then parses
    again from the bytes, yielding one `StagedRow` at a time. Memory is the file's bytes plus one row, whatever
    the number of rows.
    """

    def __init__(self, data: bytes, source: str):
        self.source = source
        self._data = data
        if not data:
            raise UploadFileError(source, "object is empty (0 bytes)")
        self.had_bom = data.startswith(_BOM_BYTES)
        _check_utf8(data, source)
        if b"\x00" in data:
            raise UploadFileError(
                source,
                "contains a NUL byte (binary file?)",
                line=data.count(b"\n", 0, data.index(b"\x00")) + 1,
            )
        records = self._records()
        header_line, header = next(records, (0, None))
        if header is None:
            raise UploadFileError(source, "no header row (file has only blank lines)")
        self.columns = _check_header(header, source, header_line)
        self._known = [(index, name) for index, name in enumerate(self.columns) if name in PRODUCT_COLUMNS]
        self.ignored_columns = [name for name in self.columns if name not in PRODUCT_COLUMNS]
        self.missing_optional_columns = [name for name in PRODUCT_COLUMNS if name not in self.columns]
        self.total_rows = 0
        self.blank_lines = header_line - 1
        for _, values in records:
            if _is_blank(values):
                self.blank_lines += 1
            else:
                self.total_rows += 1

    def rows(self) -> Iterator[StagedRow]:
        """The data rows in file order, parsed afresh from the bytes on every call."""
        records = self._records()
        next(records)  # the header, checked when the file was opened
        row_number = 0
        for line_number, values in records:
            if not _is_blank(values):
                row_number += 1
                yield _stage_row(row_number, line_number, values, self.columns, self._known)

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        stream = io.BytesIO(self._data)
        stream.seek(len(_BOM_BYTES) if self.had_bom else 0)
        return _records(io.TextIOWrapper(stream, encoding="utf-8", newline=""), self.source)


def open_upload(data: bytes, source: str) -> UploadFile:
    """Check a vendor CSV as a whole (see the module docstring for what raises) and stream its rows later."""
    return UploadFile(data, source)


def parse_upload_csv(data: bytes, source: str) -> ParsedUpload:
    """Every row of a vendor CSV in a list: for small files and tests; the assets stream `open_upload`."""
    upload = open_upload(data, source)
    return ParsedUpload(
        rows=list(upload.rows()),
        columns=upload.columns,
        ignored_columns=upload.ignored_columns,
        missing_optional_columns=upload.missing_optional_columns,
        blank_lines=upload.blank_lines,
        had_bom=upload.had_bom,
    )


def _check_utf8(data: bytes, source: str) -> None:
    """Refuse bytes that are not UTF-8, naming the offset and line of the first bad byte; decodes in chunks so
    the whole text is never held."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _DECODE_CHUNK):
        end = start + _DECODE_CHUNK
        try:
            decoder.decode(data[start:end], final=end >= len(data))
        except UnicodeDecodeError:
            # Re-decode this chunk from the character that straddles its start: the first error is exact.
            first = start
            while first > 0 and (data[first] & 0xC0) == 0x80:
                first -= 1
            try:
                data[first:end].decode("utf-8")
                offset = first  # pragma: no cover - the incremental decoder failed on these bytes
            except UnicodeDecodeError as exc:
                offset = first + exc.start
            raise UploadFileError(
                source,
                f"not UTF-8: byte 0x{data[offset]:02x} at offset {offset}; save the file as UTF-8",
                line=data.count(b"\n", 0, offset) + 1,
            ) from None


def _is_blank(values: list[str]) -> bool:
    return not values or (len(values) == 1 and not values[0].strip())


def _records(text: TextIO, source: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) per CSV record; blank lines before the header are skipped; CRLF and LF both work."""
    reader = csv.reader(text, strict=True)
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
