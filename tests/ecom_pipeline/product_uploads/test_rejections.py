from decimal import Decimal

from ecom_pipeline.product_uploads.csv_parser import FieldError
from ecom_pipeline.product_uploads.rejections import (
    VALUE_CHARS,
    RejectedField,
    describe_group,
    reason_groups,
    reason_kind,
    rejected_fields,
)
from ecom_pipeline.product_uploads.validation import RowOutcome, StagedRecord, validate_records

VALID = {
    "vendor_product_id": "PROD0001",
    "product_name": "Wireless Mouse",
    "category": "Computer Accessories",
    "price": Decimal("19.99"),
    "stock_quantity": 150,
}


def record(n: int, **changes) -> StagedRecord:
    return StagedRecord(f"REC_{n:05d}", n, n + 1, {**VALID, "sku": f"SKU-{n}", **changes})


def test_rejected_fields_name_row_line_sku_value_and_reason_in_row_order():
    outcomes = validate_records(
        [
            record(3, unit="bushel", image_url="not a url"),
            record(1),
            record(2, price=Decimal("-5")),
            StagedRecord(
                "REC_00004",
                4,
                7,
                {**VALID, "sku": "SKU-4", "stock_quantity": "many"},
                (FieldError("stock_quantity", "'many' is not a whole number"),),
            ),
        ]
    )
    assert rejected_fields(outcomes) == [
        RejectedField(2, 3, "SKU-2", "price", "-5", "-5 must be greater than 0"),
        RejectedField(3, 4, "SKU-3", "unit", "bushel", rejected_fields(outcomes)[1].reason),
        RejectedField(3, 4, "SKU-3", "image_url", "not a url", "'not a url' is not an http(s) URL"),
        RejectedField(4, 7, "SKU-4", "stock_quantity", "many", "'many' is not a whole number"),
    ]
    assert [e.row_number for e in rejected_fields(outcomes, limit=2)] == [2, 3]


def test_a_row_level_error_has_no_value_and_long_values_are_cut():
    outcomes = [
        RowOutcome(
            "REC_00001", 1, 2, {"sku": "S-1"}, (FieldError("row", "row has 15 fields, header has 14"),)
        ),
        RowOutcome("REC_00002", 2, 3, {"description": "x" * 5000}, (FieldError("description", "too long"),)),
    ]
    row_error, long_value = rejected_fields(outcomes)
    assert (row_error.field, row_error.value, row_error.sku) == ("row", "", "S-1")
    assert long_value.sku == "" and len(long_value.value) == VALUE_CHARS and long_value.value.endswith("…")


def test_groups_mask_values_count_rows_and_keep_the_first_real_example():
    outcomes = validate_records(
        [record(1, price=Decimal("-1")), record(2), record(3, price=Decimal("-2")), record(4, unit="bushel")]
    )
    price, unit = reason_groups(outcomes)
    assert (price.field, price.pattern, price.rows) == ("price", "N must be greater than N", 2)
    assert (price.example_row, price.example_value, price.example_reason) == (
        1,
        "-1",
        "-1 must be greater than 0",
    )
    assert (unit.field, unit.pattern, unit.rows, unit.example_row, unit.example_value) == (
        "unit",
        reason_kind(outcomes[3].errors[0].reason),
        1,
        4,
        "bushel",
    )
    assert describe_group(price) == (
        "2 rejected: price: N must be greater than N (e.g. row 1, price='-1': -1 must be greater than 0)"
    )
    assert reason_groups(validate_records([record(1)])) == []
