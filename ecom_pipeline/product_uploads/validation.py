"""Product rules applied to one upload's staged rows, and the upload's outcome from their results.

A row is valid only if it parsed cleanly and passes every rule; otherwise it is rejected with one
`FieldError` per broken rule, so the vendor sees all problems of a row at once. SKUs must be unique within an
upload (the first occurrence wins; later ones are rejected); across uploads the same SKU updates the product.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ecom_pipeline.product_uploads.csv_parser import REQUIRED_COLUMNS, FieldError

KNOWN_UNITS = frozenset(
    {"piece", "pack", "set", "pair", "box", "dozen", "kg", "g", "lb", "oz", "l", "ml", "m", "cm"}
)
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
DIMENSIONS_PATTERN = re.compile(r"^\d+(\.\d+)?[xX]\d+(\.\d+)?[xX]\d+(\.\d+)?$")
MAX_PRICE = Decimal("9999999999.99")  # products.price numeric(12, 2)
MAX_WEIGHT_KG = Decimal("9999999.999")  # products.weight_kg numeric(10, 3)
MAX_STOCK = 2**31 - 1  # products.stock_quantity integer
MAX_TEXT_LENGTHS = {
    "vendor_product_id": 64,
    "product_name": 255,
    "category": 100,
    "subcategory": 100,
    "brand": 100,
    "description": 5000,
    "image_url": 2048,
}

STATUS_PENDING = "pending_validation"
STATUS_VALID = "validated"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class RowOutcome:
    record_id: str
    row_number: int
    line_number: int
    product_data: Mapping[str, Any]
    errors: tuple[FieldError, ...]

    @property
    def status(self) -> str:
        return STATUS_ERROR if self.errors else STATUS_VALID


@dataclass(frozen=True)
class StagedRecord:
    """A row as read back from UploadRecords (what the validator sees)."""

    record_id: str
    row_number: int
    line_number: int
    product_data: Mapping[str, Any]
    parse_errors: tuple[FieldError, ...] = ()
    status: str = STATUS_PENDING


def validate_product(data: Mapping[str, Any]) -> list[FieldError]:
    """Every rule broken by one row's typed product data (values that failed parsing are skipped here)."""
    errors: list[FieldError] = []
    for name in REQUIRED_COLUMNS:
        if data.get(name) in (None, ""):
            errors.append(FieldError(name, "required field is empty"))
    for name, limit in MAX_TEXT_LENGTHS.items():
        value = data.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(FieldError(name, f"longer than {limit} characters ({len(value)})"))

    price = data.get("price")
    if isinstance(price, Decimal):
        errors.extend(_money_errors("price", price, allow_zero=False))
    compare_at = data.get("compare_at_price")
    if isinstance(compare_at, Decimal):
        errors.extend(_money_errors("compare_at_price", compare_at, allow_zero=False))
        if isinstance(price, Decimal) and compare_at < price:
            errors.append(
                FieldError("compare_at_price", f"{compare_at} is below price {price} (must be >= price)")
            )
    stock = data.get("stock_quantity")
    if isinstance(stock, int) and not 0 <= stock <= MAX_STOCK:
        errors.append(FieldError("stock_quantity", f"{stock} must be between 0 and {MAX_STOCK}"))

    sku = data.get("sku")
    if isinstance(sku, str) and sku and not SKU_PATTERN.match(sku):
        errors.append(
            FieldError("sku", f"{sku!r} must be 2-64 letters, digits, '.', '_' or '-', starting alphanumeric")
        )
    unit = data.get("unit")
    if isinstance(unit, str) and unit.lower() not in KNOWN_UNITS:
        errors.append(FieldError("unit", f"{unit!r} is not a known unit ({', '.join(sorted(KNOWN_UNITS))})"))
    weight = data.get("weight_kg")
    if isinstance(weight, Decimal) and not (0 <= weight <= MAX_WEIGHT_KG and _decimals(weight) <= 3):
        errors.append(FieldError("weight_kg", f"{weight} must be 0-{MAX_WEIGHT_KG} with at most 3 decimals"))
    dimensions = data.get("dimensions_cm")
    if isinstance(dimensions, str) and not DIMENSIONS_PATTERN.match(dimensions):
        errors.append(FieldError("dimensions_cm", f"{dimensions!r} must look like 12x8x4 (L x W x H in cm)"))
    url = data.get("image_url")
    if isinstance(url, str) and not _is_http_url(url):
        errors.append(FieldError("image_url", f"{url!r} is not an http(s) URL"))
    return errors


def validate_records(records: Iterable[StagedRecord]) -> list[RowOutcome]:
    """Outcomes in row order; parse errors first, then rule errors, then SKU duplicates within the upload."""
    return list(iter_outcomes(sorted(records, key=lambda r: r.row_number)))


def iter_outcomes(records_in_row_order: Iterable[StagedRecord]) -> Iterator[RowOutcome]:
    """`validate_records` as a stream, for records already in row order (as the parser yields them).

    A row's outcome depends only on the rows before it (the first occurrence of a SKU wins), so each outcome is
    final when yielded and the caller can write it while later rows are still being validated.
    """
    first_row_of_sku: dict[str, int] = {}
    previous = 0
    for record in records_in_row_order:
        if record.row_number <= previous:
            raise ValueError(f"records out of row order: row {record.row_number} after row {previous}")
        previous = record.row_number
        errors = list(record.parse_errors) + validate_product(record.product_data)
        sku = record.product_data.get("sku")
        if isinstance(sku, str) and sku:
            first = first_row_of_sku.setdefault(sku, record.row_number)
            if first != record.row_number:
                errors.append(
                    FieldError("sku", f"duplicate sku {sku!r} in this upload (first at row {first})")
                )
        yield RowOutcome(
            record.record_id, record.row_number, record.line_number, record.product_data, tuple(errors)
        )


def final_upload_status(valid: int, rejected: int) -> str:
    """`completed` (nothing rejected, including an upload with no rows), `completed_with_errors`, `failed`."""
    if rejected == 0:
        return "completed"
    return "completed_with_errors" if valid else "failed"


def error_rate(valid: int, rejected: int) -> float:
    total = valid + rejected
    return rejected / total if total else 0.0


def _money_errors(name: str, value: Decimal, allow_zero: bool) -> list[FieldError]:
    if value < 0 or (value == 0 and not allow_zero):
        return [FieldError(name, f"{value} must be greater than 0")]
    if value > MAX_PRICE:
        return [FieldError(name, f"{value} exceeds {MAX_PRICE}")]
    if _decimals(value) > 2:
        return [FieldError(name, f"{value} has more than 2 decimal places")]
    return []


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _is_http_url(value: str) -> bool:
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "." in (parts.hostname or "")
