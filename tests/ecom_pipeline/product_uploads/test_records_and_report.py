import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ecom_pipeline.product_uploads.csv_parser import PRODUCT_COLUMNS, count_data_lines, parse_upload_csv
from ecom_pipeline.product_uploads.error_report import build_error_report
from ecom_pipeline.product_uploads.records import (
    PRODUCT_TABLE_COLUMNS,
    decode_item,
    error_message,
    item_timestamp,
    outcome_changed,
    product_row,
    staged_item,
    staged_record,
    stored_errors,
    with_outcome,
)
from ecom_pipeline.product_uploads.validation import validate_records

HEADER = ",".join(PRODUCT_COLUMNS)
GOOD = (
    "PROD0001,Wireless Mouse,Computer Accessories,Mice,Ergonomic,CA-VEND001-0001,TechGear,19.99,,150,Piece,"
    "0.25,12X8x4,https://images.example.com/mouse.jpg"
)
BAD = GOOD.replace("PROD0001", "=HYPERLINK(1)").replace("19.99", "-3").replace("0001,", "0002,")


def parsed_rows():
    return parse_upload_csv(f"{HEADER}\n{GOOD}\n{BAD}\n".encode(), "f.csv").rows


def test_item_round_trip_keeps_decimals_and_ints():
    good, bad = parsed_rows()
    item = staged_item("UPLOAD_A", "VEND001", good, 2, "2024-12-21T10:30:46Z")
    assert item["record_id"] == {"S": "REC_00001"}
    assert item["product_data"]["M"]["price"] == {"N": "19.99"}
    assert "compare_at_price" not in item["product_data"]["M"]
    record = decode_item(item)
    assert record.product_data["price"] == Decimal("19.99")
    assert record.product_data["stock_quantity"] == 150
    assert record.status == "pending_validation" and record.line_number == 2


def test_outcome_item_message_and_product_row():
    rows = parsed_rows()
    items = [staged_item("UPLOAD_A", "VEND001", r, 2, "t") for r in rows]
    outcomes = validate_records([decode_item(i) for i in items])
    valid, rejected = outcomes
    assert valid.status == "validated" and rejected.status == "error"
    updated = with_outcome(items[1], rejected, "t2")
    assert updated["status"] == {"S": "error"}
    assert stored_errors(updated) == rejected.errors
    assert "validation_errors" not in with_outcome(updated, valid, "t3")
    message = error_message("UPLOAD_A", "VEND001", "uploads/VEND001/f.csv", rejected)
    assert message["row_number"] == 2 and message["field"] == "price"
    assert message["reason"] == "-3 must be greater than 0"
    row = dict(zip(PRODUCT_TABLE_COLUMNS, product_row("VEND001", "UPLOAD_A", valid), strict=True))
    assert row["unit"] == "piece" and row["dimensions_cm"] == "12x8x4" and row["name"] == "Wireless Mouse"
    assert row["price"] == Decimal("19.99") and row["compare_at_price"] is None


def test_error_report_lists_rejected_rows_with_reasons_and_defuses_formulas():
    rows = parsed_rows()
    outcomes = validate_records([decode_item(staged_item("U", "V", r, 2, "t")) for r in rows])
    report = build_error_report(outcomes).decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(report, newline="")))
    assert len(lines) == 1
    assert lines[0]["row_number"] == "2" and lines[0]["error_fields"] == "price"
    assert lines[0]["error_reasons"] == "price: -3 must be greater than 0"
    assert lines[0]["vendor_product_id"] == "'=HYPERLINK(1)"
    assert lines[0]["price"] == "-3"


def test_staged_record_equals_the_decoded_item_for_every_kind_of_row():
    body = (
        f"{HEADER}\n{GOOD}\n{BAD}\n"
        + GOOD.replace("19.99", "$19.99").replace("150", "12.5").replace("0001,", "0003,")
        + "\n"
        + GOOD.replace("19.99", "+7.50").replace(",150,", ",+0,").replace("0001,", "0004,")
        + "\nonly,three,fields\n"
    ).encode()
    rows = parse_upload_csv(body, "f.csv").rows
    assert len(rows) == 5 and rows[2].parse_errors and rows[4].parse_errors
    for row in rows:
        assert staged_record(row, 5) == decode_item(staged_item("U", "V", row, 5, "t"))


def test_item_changed_only_when_status_or_errors_differ():
    rows = parsed_rows()
    items = [staged_item("UPLOAD_A", "VEND001", r, 2, "t") for r in rows]
    valid, rejected = validate_records([decode_item(i) for i in items])
    assert outcome_changed(None, valid)  # first pass: nothing read back, every item is written
    assert outcome_changed(items[0], valid)  # stored pending_validation, now validated
    assert not outcome_changed(with_outcome(items[0], valid, "t2"), valid)
    assert not outcome_changed(with_outcome(items[1], rejected, "t2"), rejected)
    assert outcome_changed(with_outcome(items[1], valid, "t2"), rejected)


def test_item_timestamp_is_utc_milliseconds_z():
    moment = datetime(2026, 1, 2, 5, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert item_timestamp(moment) == "2026-01-02T03:04:05.123Z"
    assert item_timestamp().endswith("Z") and len(item_timestamp()) == len("2026-01-02T03:04:05.123Z")


def test_count_data_lines_of_a_refused_file():
    assert count_data_lines(b"h\n\nx\r\ny\n") == 2
    assert count_data_lines(b"") == 0
