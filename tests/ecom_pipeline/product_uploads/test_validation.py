from decimal import Decimal

import pytest

from ecom_pipeline.product_uploads.csv_parser import FieldError
from ecom_pipeline.product_uploads.validation import (
    StagedRecord,
    error_rate,
    final_upload_status,
    iter_outcomes,
    validate_product,
    validate_records,
)

VALID = {
    "vendor_product_id": "PROD0001",
    "product_name": "Wireless Mouse",
    "category": "Computer Accessories",
    "sku": "CA-VEND001-0001",
    "price": Decimal("19.99"),
    "compare_at_price": Decimal("24.99"),
    "stock_quantity": 150,
    "unit": "piece",
    "weight_kg": Decimal("0.25"),
    "dimensions_cm": "12x8x4",
    "image_url": "https://images.example.com/mouse.jpg",
}


def fields(data):
    return [e.field for e in validate_product(data)]


def test_valid_product_has_no_errors():
    assert validate_product(VALID) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product_name": None}, "product_name"),
        ({"sku": ""}, "sku"),
        ({"price": Decimal("0")}, "price"),
        ({"price": Decimal("-5")}, "price"),
        ({"price": Decimal("1.999")}, "price"),
        ({"price": Decimal("10000000000"), "compare_at_price": None}, "price"),
        ({"compare_at_price": Decimal("9.99")}, "compare_at_price"),
        ({"stock_quantity": -1}, "stock_quantity"),
        ({"sku": "has space"}, "sku"),
        ({"sku": "-LEADING"}, "sku"),
        ({"unit": "bushel"}, "unit"),
        ({"image_url": "ftp://images.example.com/x.jpg"}, "image_url"),
        ({"image_url": "not a url"}, "image_url"),
        ({"image_url": "https://localhost/x.jpg"}, "image_url"),
        ({"dimensions_cm": "12 by 8"}, "dimensions_cm"),
        ({"weight_kg": Decimal("-1")}, "weight_kg"),
        ({"product_name": "x" * 256}, "product_name"),
    ],
)
def test_each_rule(change, field):
    assert fields({**VALID, **change}) == [field]


def test_optional_fields_may_be_absent_and_unit_is_case_insensitive():
    data = {k: v for k, v in VALID.items() if k not in ("compare_at_price", "image_url", "weight_kg")}
    assert validate_product({**data, "unit": "Piece"}) == []


def test_all_errors_of_a_row_are_reported():
    # compare_at_price 24.99 stays >= -1, so exactly the three broken fields are named
    assert sorted(fields({**VALID, "price": Decimal("-1"), "unit": "bushel", "sku": None})) == [
        "price",
        "sku",
        "unit",
    ]


def record(n, **changes):
    return StagedRecord(f"REC_{n:05d}", n, n + 1, {**VALID, **changes})


def test_duplicate_sku_first_wins_and_parse_errors_come_first():
    outcomes = validate_records(
        [
            record(3, sku="A-1"),
            record(1, sku="A-1"),
            StagedRecord("REC_00002", 2, 3, {**VALID, "sku": "B-1"}, (FieldError("price", "bad"),)),
        ]
    )
    assert [o.row_number for o in outcomes] == [1, 2, 3]
    assert [o.status for o in outcomes] == ["validated", "error", "error"]
    assert outcomes[1].errors[0] == FieldError("price", "bad")
    assert outcomes[2].errors[0].reason == "duplicate sku 'A-1' in this upload (first at row 1)"


def test_final_status_and_error_rate():
    assert final_upload_status(3, 0) == "completed"
    assert final_upload_status(0, 0) == "completed"
    assert final_upload_status(2, 1) == "completed_with_errors"
    assert final_upload_status(0, 4) == "failed"
    assert error_rate(3, 1) == 0.25 and error_rate(0, 0) == 0.0


def test_iter_outcomes_streams_the_same_outcomes_and_refuses_rows_out_of_order():
    records = [
        StagedRecord("REC_00001", 1, 2, VALID),
        StagedRecord("REC_00002", 2, 3, {**VALID, "price": Decimal("-1")}),
        StagedRecord("REC_00003", 3, 4, VALID),  # duplicate SKU of row 1
    ]
    assert list(iter_outcomes(records)) == validate_records(reversed(records))
    with pytest.raises(ValueError, match="out of row order"):
        list(iter_outcomes([records[1], records[0]]))
