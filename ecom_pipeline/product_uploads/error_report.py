"""The per-upload error report: a CSV the vendor can open next to their upload, one line per rejected row.

It repeats the row's own values after the reasons so the vendor can fix the file without cross-referencing.
Cells starting with `=`, `+`, `-` or `@` are prefixed with `'` so a spreadsheet never evaluates vendor text.
"""

import csv
import io
from collections.abc import Iterable

from ecom_pipeline.product_uploads.csv_parser import PRODUCT_COLUMNS
from ecom_pipeline.product_uploads.validation import RowOutcome

REPORT_COLUMNS = ("row_number", "line_number", "record_id", "error_fields", "error_reasons", *PRODUCT_COLUMNS)
_FORMULA_START = ("=", "+", "-", "@")


def build_error_report(outcomes: Iterable[RowOutcome]) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheet apps detect the encoding) of the rejected rows, in row order."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for outcome in sorted((o for o in outcomes if o.errors), key=lambda o: o.row_number):
        writer.writerow(
            [
                outcome.row_number,
                outcome.line_number,
                outcome.record_id,
                "; ".join(dict.fromkeys(e.field for e in outcome.errors)),
                "; ".join(f"{e.field}: {e.reason}" for e in outcome.errors),
                *(_cell(outcome.product_data.get(name)) for name in PRODUCT_COLUMNS),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
