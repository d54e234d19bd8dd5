"""Vendor product CSVs in seed 003's column layout, with optional rows that break one rule each.

Bad rows sit at known positions with a known defect (`vendor_csv_defects`), so upload tests can assert
exactly which rows the validator must reject and why.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from deploy.local.sources.catalog import UNKNOWN_VENDOR, catalog_product, cents_text, grams_text
from ecom_pipeline.product_uploads.csv_parser import PRODUCT_COLUMNS

# The seed's upload columns, as the uploads parser reads them: one definition for both sides.
CSV_COLUMNS = PRODUCT_COLUMNS

# Defect name -> (column it breaks, what the row contains).
VENDOR_CSV_DEFECTS: dict[str, tuple[str, str]] = {
    "negative_price": ("price", "price is -5.00"),
    "compare_at_below_price": ("compare_at_price", "compare_at_price is 1.00 below price"),
    "bad_sku": ("sku", "sku contains spaces and '#'"),
    "missing_product_name": ("product_name", "product_name is empty"),
    "bad_image_url": ("image_url", "image_url is not an http(s) URL"),
    "unknown_unit": ("unit", "unit is 'parsec'"),
    "negative_stock": ("stock_quantity", "stock_quantity is -3"),
}

DEMO_UPLOAD_TIME = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)


def upload_key(vendor_id: str, uploaded_at: datetime) -> str:
    """`uploads/{VENDOR_ID}/{VENDOR_ID}_YYYYMMDD_HHMMSS.csv` (seed 003's layout)."""
    stamp = uploaded_at.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
    return f"uploads/{vendor_id}/{vendor_id}_{stamp}.csv"


def vendor_csv_defects(rows: int, bad_rows: int) -> dict[int, str]:
    """Data row number (1-based, header excluded) -> defect name, spread evenly over the file and cycling
    through VENDOR_CSV_DEFECTS in order."""
    if not 0 <= bad_rows <= rows:
        raise ValueError(f"bad_rows must be between 0 and rows ({rows}), got {bad_rows}")
    names = list(VENDOR_CSV_DEFECTS)
    return {(k * rows) // bad_rows + 1: names[k % len(names)] for k in range(bad_rows)}


def vendor_csv(vendor_id: str, rows: int, bad_rows: int = 0, seed: int = 0) -> bytes:
    """UTF-8 CSV (header + `rows` data rows) of `vendor_id`'s catalogue products 1..rows; the rows named
    by `vendor_csv_defects(rows, bad_rows)` each carry one defect."""
    defects = vendor_csv_defects(rows, bad_rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for number in range(1, rows + 1):
        row = _clean_row(vendor_id, number, seed)
        if number in defects:
            _break(row, defects[number], number)
        writer.writerow(row[column] for column in CSV_COLUMNS)
    return out.getvalue().encode("utf-8")


def _clean_row(vendor_id: str, number: int, seed: int) -> dict[str, str]:
    p = catalog_product(vendor_id, number, seed)
    return {
        "vendor_product_id": p.vendor_product_id,
        "product_name": p.product_name,
        "category": p.category,
        "subcategory": p.subcategory,
        "description": p.description,
        "sku": p.sku,
        "brand": p.brand,
        "price": cents_text(p.price_cents),
        "compare_at_price": "" if p.compare_at_cents is None else cents_text(p.compare_at_cents),
        "stock_quantity": str(p.stock_quantity),
        "unit": p.unit,
        "weight_kg": grams_text(p.weight_grams),
        "dimensions_cm": p.dimensions_cm,
        "image_url": p.image_url,
    }


def _break(row: dict[str, str], defect: str, number: int) -> None:
    price_cents = int(Decimal(row["price"]) * 100)
    match defect:
        case "negative_price":
            row["price"] = "-5.00"
        case "compare_at_below_price":
            row["compare_at_price"] = cents_text(price_cents - 100)
        case "bad_sku":
            row["sku"] = f"bad sku #{number}"
        case "missing_product_name":
            row["product_name"] = ""
        case "bad_image_url":
            row["image_url"] = f"htp:/images/broken-{number}.jpg"
        case "unknown_unit":
            row["unit"] = "parsec"
        case "negative_stock":
            row["stock_quantity"] = "-3"
        case _:
            raise ValueError(f"unknown defect {defect!r}")


def demo_vendor_files() -> dict[str, bytes]:
    """The three demo uploads, keyed by S3 key: a clean VEND001 file (30 rows), a VEND002 file with one row
    per defect (30 rows, 7 bad) and a file from VEND404, a vendor that does not exist."""
    return {
        upload_key("VEND001", DEMO_UPLOAD_TIME): vendor_csv("VEND001", 30),
        upload_key("VEND002", DEMO_UPLOAD_TIME + timedelta(minutes=5)): vendor_csv(
            "VEND002", 30, bad_rows=len(VENDOR_CSV_DEFECTS)
        ),
        upload_key(UNKNOWN_VENDOR, DEMO_UPLOAD_TIME + timedelta(minutes=10)): vendor_csv(UNKNOWN_VENDOR, 10),
    }
