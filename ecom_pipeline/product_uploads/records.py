"""The shapes one upload row takes: UploadRecords item, SQS error message, products row.

Items are encoded straight to DynamoDB's wire format (`{"S": ...}`, numbers as decimal strings, never floats)
because the generic boto3 serializer costs more CPU than the network on a 100,000-row upload.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ecom_pipeline.product_uploads.csv_parser import (
    DECIMAL_COLUMNS,
    INTEGER_COLUMNS,
    PRODUCT_COLUMNS,
    FieldError,
    StagedRow,
    record_id,
)
from ecom_pipeline.product_uploads.validation import STATUS_PENDING, RowOutcome, StagedRecord

# Column order of the products upsert (the staging table and INSERT use the same order).
PRODUCT_TABLE_COLUMNS = (
    "vendor_id",
    "vendor_product_id",
    "sku",
    "name",
    "category",
    "subcategory",
    "description",
    "brand",
    "price",
    "compare_at_price",
    "stock_quantity",
    "unit",
    "weight_kg",
    "dimensions_cm",
    "image_url",
    "source_upload_id",
)


def item_timestamp(moment: datetime | None = None) -> str:
    """`created_at` / `validated_at` of an item: UTC, milliseconds, `Z` (now when `moment` is None)."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def staged_item(upload_id: str, vendor_id: str, row: StagedRow, total_rows: int, created_at: str) -> dict:
    """One UploadRecords item in DynamoDB JSON, status `pending_validation` (as staged, before validation)."""
    item: dict[str, Any] = {
        "upload_id": {"S": upload_id},
        "record_id": {"S": record_id(row.row_number, total_rows)},
        "vendor_id": {"S": vendor_id},
        "row_number": {"N": str(row.row_number)},
        "line_number": {"N": str(row.line_number)},
        "product_data": {"M": _encode_product(row.product_data)},
        "status": {"S": STATUS_PENDING},
        "created_at": {"S": created_at},
    }
    if row.parse_errors:
        item["parse_errors"] = {"L": [_encode_error(e) for e in row.parse_errors]}
    return item


def staged_record(row: StagedRow, total_rows: int) -> StagedRecord:
    """What `decode_item(staged_item(row, ...))` returns, without the round trip through DynamoDB JSON.

    The encoding is lossless (text stays text, Decimal and int keep their exact digits), so the validator can
    validate the parsed rows directly while it writes the items built from them.
    """
    return StagedRecord(
        record_id=record_id(row.row_number, total_rows),
        row_number=row.row_number,
        line_number=row.line_number,
        product_data={name: row.product_data[name] for name in PRODUCT_COLUMNS if name in row.product_data},
        parse_errors=tuple(row.parse_errors),
        status=STATUS_PENDING,
    )


def with_outcome(item: Mapping[str, Any], outcome: RowOutcome, validated_at: str) -> dict:
    """The item with the validator's status and errors (a full item, so it can go through BatchWriteItem)."""
    updated = dict(item)
    updated["status"] = {"S": outcome.status}
    updated["validated_at"] = {"S": validated_at}
    if outcome.errors:
        updated["validation_errors"] = {"L": [_encode_error(e) for e in outcome.errors]}
    else:
        updated.pop("validation_errors", None)
    return updated


def decode_item(item: Mapping[str, Any]) -> StagedRecord:
    """An UploadRecords item (DynamoDB JSON) back to the validator's input."""
    product: dict[str, Any] = {}
    for name, value in item.get("product_data", {}).get("M", {}).items():
        if "N" in value:
            product[name] = int(value["N"]) if name in INTEGER_COLUMNS else Decimal(value["N"])
        elif "S" in value:
            product[name] = value["S"]
    errors = tuple(
        FieldError(e["M"]["field"]["S"], e["M"]["reason"]["S"])
        for e in item.get("parse_errors", {}).get("L", [])
    )
    return StagedRecord(
        record_id=item["record_id"]["S"],
        row_number=int(item["row_number"]["N"]),
        line_number=int(item.get("line_number", {}).get("N", 0)),
        product_data=product,
        parse_errors=errors,
        status=item.get("status", {}).get("S", STATUS_PENDING),
    )


def stored_status(state: Mapping[str, Any] | None) -> str:
    """The status an item holds (`None`: not read back, so still as staged)."""
    return STATUS_PENDING if state is None else state["status"]["S"]


def outcome_changed(state: Mapping[str, Any] | None, outcome: RowOutcome) -> bool:
    """Whether the item must be written: not read back (first pass), or its status or errors differ."""
    return state is None or stored_status(state) != outcome.status or stored_errors(state) != outcome.errors


def stored_errors(item: Mapping[str, Any]) -> tuple[FieldError, ...]:
    return tuple(
        FieldError(e["M"]["field"]["S"], e["M"]["reason"]["S"])
        for e in item.get("validation_errors", {}).get("L", [])
    )


def error_message(upload_id: str, vendor_id: str, s3_key: str, outcome: RowOutcome) -> dict[str, Any]:
    """SQS body for a rejected row: upload, row, the first field/reason, and every error of the row."""
    first = outcome.errors[0]
    return {
        "upload_id": upload_id,
        "vendor_id": vendor_id,
        "s3_key": s3_key,
        "record_id": outcome.record_id,
        "row_number": outcome.row_number,
        "line_number": outcome.line_number,
        "field": first.field,
        "reason": first.reason,
        "errors": [e.as_dict() for e in outcome.errors],
        "sku": _text(outcome.product_data.get("sku")),
    }


def product_row(vendor_id: str, upload_id: str, outcome: RowOutcome) -> tuple:
    """A valid row in PRODUCT_TABLE_COLUMNS order (units lower-cased, dimensions with a lower-case x)."""
    data = outcome.product_data
    unit = data.get("unit")
    dimensions = data.get("dimensions_cm")
    return (
        vendor_id,
        data["vendor_product_id"],
        data["sku"],
        data["product_name"],
        data.get("category"),
        data.get("subcategory"),
        data.get("description"),
        data.get("brand"),
        data["price"],
        data.get("compare_at_price"),
        data["stock_quantity"],
        unit.lower() if isinstance(unit, str) else None,
        data.get("weight_kg"),
        dimensions.lower() if isinstance(dimensions, str) else None,
        data.get("image_url"),
        upload_id,
    )


def _encode_product(data: Mapping[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for name in PRODUCT_COLUMNS:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool):  # pragma: no cover - the parser never produces booleans
            raise TypeError(f"{name}: booleans are not product values")
        if isinstance(value, int | Decimal) and (name in DECIMAL_COLUMNS or name in INTEGER_COLUMNS):
            encoded[name] = {"N": str(value)}
        else:
            encoded[name] = {"S": str(value)}
    return encoded


def _encode_error(error: FieldError) -> dict[str, Any]:
    return {"M": {"field": {"S": error.field}, "reason": {"S": error.reason}}}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
