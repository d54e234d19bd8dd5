"""An upload's rejected rows as Dagster metadata: tables a person can read in the UI and act on.

The same entries go on `validated_products`' materialization and on the `Failure` of an upload whose every
row was rejected, so the partition's page shows them either way.
"""

from collections.abc import Sequence

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from ecom_pipeline.product_uploads.rejections import ReasonGroup, rejected_fields
from ecom_pipeline.product_uploads.validation import RowOutcome

REJECTED_ROWS_SHOWN = 100  # (row, field) errors listed in `rejected_rows`; the error report has them all

REJECTED_ROWS_SCHEMA = TableSchema(
    columns=[
        TableColumn("row_number", "int", description="data row (the header is not a row)"),
        TableColumn("line", "int", description="physical line where the row starts (header = line 1)"),
        TableColumn("sku", "string"),
        TableColumn("field", "string", description="`row` for a row with the wrong number of fields"),
        TableColumn("value", "string", description="the row's value of that field, as written"),
        TableColumn("reason", "string"),
    ]
)
REJECTION_REASONS_SCHEMA = TableSchema(
    columns=[
        TableColumn("field", "string"),
        TableColumn("pattern", "string", description="the reason with the row's values masked"),
        TableColumn("rows", "int", description="errors of this kind"),
        TableColumn("example_row", "int", description="the first row with one"),
        TableColumn("example_value", "string"),
        TableColumn("example_reason", "string"),
    ]
)


def rejection_metadata(rejected: Sequence[RowOutcome], groups: Sequence[ReasonGroup]) -> dict:
    """`rejected_rows` (the first REJECTED_ROWS_SHOWN errors in row order), `rejected_rows_total` (rows) and
    `rejection_reasons` (every kind of error, most frequent first)."""
    shown = rejected_fields(rejected, REJECTED_ROWS_SHOWN)
    return {
        "rejected_rows": MetadataValue.table(
            [
                TableRecord(
                    {
                        "row_number": e.row_number,
                        "line": e.line_number,
                        "sku": e.sku,
                        "field": e.field,
                        "value": e.value,
                        "reason": e.reason,
                    }
                )
                for e in shown
            ],
            schema=REJECTED_ROWS_SCHEMA,
        ),
        "rejected_rows_total": len(rejected),
        "rejection_reasons": MetadataValue.table(
            [
                TableRecord(
                    {
                        "field": g.field,
                        "pattern": g.pattern,
                        "rows": g.rows,
                        "example_row": g.example_row,
                        "example_value": g.example_value,
                        "example_reason": g.example_reason,
                    }
                )
                for g in groups
            ],
            schema=REJECTION_REASONS_SCHEMA,
        ),
    }
