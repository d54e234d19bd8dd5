"""Arrow tables for the small and medium source entities: customers, vendors, products, upload history and
metrics. Column names and order match `ecom_pipeline/sql/010_source_schema.sql`."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from deploy.local.sources.catalog import (
    INACTIVE_VENDOR,
    PRODUCTS_PER_VENDOR,
    SUSPENDED_VENDOR,
    catalog_product,
    vendor_number,
)
from deploy.local.sources.columns import (
    MICROS,
    TimeWindow,
    earlier_micros,
    json_strings,
    money,
    padded,
    pick,
    rng_for,
    text,
    thousandths,
    timestamps,
    updated_at_micros,
    with_nulls,
)
from deploy.local.sources.vocabulary import CITIES, FIRST_NAMES, LAST_NAMES, METRIC_NAMES, VENDOR_NAMES

CUSTOMERS_PER_SCALE = 2_000
UPLOADS_PER_SCALE = 40
METRICS_PER_SCALE = 2_000


def customers_table(count: int, seed: int, window: TimeWindow) -> pa.Table:
    rng = rng_for(seed, "customers")
    ids = np.arange(1, count + 1, dtype=np.int64)
    first = rng.integers(0, len(FIRST_NAMES), count)
    last = rng.integers(0, len(LAST_NAMES), count)
    city = rng.integers(0, len(CITIES), count)
    updated = updated_at_micros(rng, count, window)
    birth_days = rng.integers(-7_300, 13_500, count)  # 1950 .. 2006, days since the epoch
    languages = json_strings(["en", "pt-BR", "de", "ja", "fr", "pl"])
    return pa.table(
        {
            "customer_id": ids,
            "email": text(
                pick([a for _, a in FIRST_NAMES], first),
                ".",
                pick([a for _, a in LAST_NAMES], last),
                ".",
                pa.array(ids).cast(pa.string()),
                "@example.com",
            ),
            "first_name": pick([d for d, _ in FIRST_NAMES], first),
            "last_name": pick([d for d, _ in LAST_NAMES], last),
            "phone": with_nulls(
                text("+1-555-", padded(rng.integers(0, 10_000_000, count), 7)), rng.random(count) < 0.25
            ),
            "city": pick([c for c, _, _ in CITIES], city, mask=rng.random(count) < 0.05),
            "country_code": pick([cc for _, cc, _ in CITIES], city),
            "date_of_birth": pa.array(birth_days, pa.int32(), mask=rng.random(count) < 0.3).cast(pa.date32()),
            "loyalty_points": pa.array(rng.integers(0, 5_000, count), pa.int32()),
            "lifetime_value": money(rng.integers(0, 500_000, count)),
            "marketing_opt_in": pa.array(rng.random(count) < 0.4),
            "preferences": with_nulls(
                text(
                    '{"language": ',
                    pick(languages, rng.integers(0, len(languages), count)),
                    ', "newsletter": ',
                    pick(["true", "false"], rng.integers(0, 2, count)),
                    ', "tags": ["loyal", "mobile"]}',
                ),
                rng.random(count) < 0.2,
            ),
            "created_at": timestamps(earlier_micros(rng, updated, max_days=720, same_share=0.1)),
            "updated_at": timestamps(updated),
        }
    )


def vendor_rows(active_ids: list[str]) -> list[tuple[str, str]]:
    """(vendor_id, status) of every vendor: the active ones plus one suspended and one inactive."""
    return [(v, "active") for v in active_ids] + [
        (SUSPENDED_VENDOR, "suspended"),
        (INACTIVE_VENDOR, "inactive"),
    ]


def vendors_table(active_ids: list[str], seed: int, window: TimeWindow) -> pa.Table:
    rows = vendor_rows(active_ids)
    count = len(rows)
    rng = rng_for(seed, "vendors")
    updated = updated_at_micros(rng, count, window)
    names = [f"{VENDOR_NAMES[vendor_number(v) % len(VENDOR_NAMES)]} #{vendor_number(v)}" for v, _ in rows]
    city = rng.integers(0, len(CITIES), count)
    return pa.table(
        {
            "vendor_id": [v for v, _ in rows],
            "vendor_name": names,
            "email": [f"partners+{v.lower()}@vendors.example.com" for v, _ in rows],
            "phone": with_nulls(
                text("+44 20 7946 ", padded(rng.integers(0, 10_000, count), 4)), rng.random(count) < 0.2
            ),
            "country_code": pick([cc for _, cc, _ in CITIES], city),
            "status": [s for _, s in rows],
            "commission_rate": _commission(rng_for(seed, "vendors/commission"), count),
            "metadata": text(
                '{"onboarded_by": "partner-team", "tier": ',
                pick(json_strings(["gold", "silver", "bronze"]), rng.integers(0, 3, count)),
                "}",
            ),
            "created_at": timestamps(earlier_micros(rng, updated, max_days=900, same_share=0.0)),
            "updated_at": timestamps(updated),
        }
    )


def _commission(rng: np.random.Generator, count: int) -> pa.Array:
    """numeric(5,4) commission rates between 5% and 20%, built from basis points."""
    basis_points = rng.integers(500, 2_000, count)
    return pa.array([f"0.{bp:04d}" for bp in basis_points]).cast(pa.decimal128(5, 4))


def products_table(active_ids: list[str], uploads: pa.Table, seed: int, window: TimeWindow) -> pa.Table:
    """PRODUCTS_PER_VENDOR catalogue products per active vendor, linked to one of that vendor's completed
    uploads when it has any."""
    completed: dict[str, list[str]] = {}
    for upload_id, vendor, status in zip(
        uploads["upload_id"].to_pylist(),
        uploads["vendor_id"].to_pylist(),
        uploads["status"].to_pylist(),
        strict=True,
    ):
        if status in ("completed", "partially_completed"):
            completed.setdefault(vendor, []).append(upload_id)
    products = [catalog_product(v, n, seed) for v in active_ids for n in range(1, PRODUCTS_PER_VENDOR + 1)]
    count = len(products)
    rng = rng_for(seed, "products")
    updated = updated_at_micros(rng, count, window)
    link = rng.integers(0, 1 << 30, count)
    return pa.table(
        {
            "product_id": np.arange(1, count + 1, dtype=np.int64),
            "vendor_id": [p.vendor_id for p in products],
            "vendor_product_id": [p.vendor_product_id for p in products],
            "sku": [p.sku for p in products],
            "name": [p.product_name for p in products],
            "category": [p.category for p in products],
            "subcategory": [p.subcategory for p in products],
            "description": with_nulls(pa.array([p.description for p in products]), rng.random(count) < 0.1),
            "brand": [p.brand for p in products],
            "price": money(np.array([p.price_cents for p in products], dtype=np.int64)),
            "compare_at_price": money(
                np.array([p.compare_at_cents or 0 for p in products], dtype=np.int64),
                mask=np.array([p.compare_at_cents is None for p in products]),
            ),
            "stock_quantity": pa.array([p.stock_quantity for p in products], pa.int32()),
            "unit": [p.unit for p in products],
            "weight_kg": thousandths(np.array([p.weight_grams for p in products], dtype=np.int64)),
            "dimensions_cm": [p.dimensions_cm for p in products],
            "image_url": [p.image_url for p in products],
            "source_upload_id": pa.array(
                [
                    completed[p.vendor_id][k % len(completed[p.vendor_id])]
                    if p.vendor_id in completed
                    else None
                    for p, k in zip(products, link, strict=True)
                ],
                pa.string(),
            ),
            "created_at": timestamps(earlier_micros(rng, updated, max_days=365, same_share=0.2)),
            "updated_at": timestamps(updated),
        }
    )


def upload_history_table(count: int, vendor_ids: list[str], seed: int, window: TimeWindow) -> pa.Table:
    """Past uploads of the vendors, one per time slot, as the upload pipeline would have recorded them."""
    rnd = random.Random(f"upload_history/{seed}")
    slot = window.span_micros // max(count, 1)
    rows: dict[str, list] = {name: [] for name in _UPLOAD_COLUMNS}
    for i in range(count):
        uploaded = window.start_micros + i * slot + rnd.randrange(0, max(slot - 3_600 * MICROS, MICROS))
        uploaded -= uploaded % MICROS
        stamp = datetime.fromtimestamp(uploaded / MICROS, UTC).strftime("%Y%m%d_%H%M%S")
        vendor = INACTIVE_VENDOR if i % 17 == 5 else rnd.choice(vendor_ids)
        file_name = f"{vendor}_{stamp}.csv"
        status = (
            "rejected" if vendor == INACTIVE_VENDOR else rnd.choices(_UPLOAD_STATUSES, _UPLOAD_WEIGHTS)[0]
        )
        total = rnd.randint(5, 400) if status != "rejected" else None
        errors = 0 if status == "completed" else (rnd.randint(1, total) if total else None)
        started = uploaded + rnd.randint(1, 30) * MICROS
        finished = None if status == "processing" else started + rnd.randint(2, 600) * MICROS
        values = {
            "upload_id": _upload_id(vendor, stamp, f"uploads/{vendor}/{file_name}"),
            "vendor_id": vendor,
            "file_name": file_name,
            "s3_key": f"uploads/{vendor}/{file_name}",
            "status": status,
            "total_records": total,
            "valid_records": None if total is None or status == "processing" else total - (errors or 0),
            "error_records": None if status == "processing" else errors,
            "error_message": _UPLOAD_ERRORS.get(status),
            "rejection_reason": f"vendor {vendor} is inactive" if status == "rejected" else None,
            "upload_timestamp": uploaded,
            "processing_started_at": started,
            "processing_completed_at": finished,
            "created_at": uploaded,
            "updated_at": finished or started,
        }
        for name, value in values.items():
            rows[name].append(value)
    micros_columns = {
        "upload_timestamp",
        "processing_started_at",
        "processing_completed_at",
        "created_at",
        "updated_at",
    }
    return pa.table(
        {
            name: (
                pa.array(values, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
                if name in micros_columns
                else pa.array(values, pa.int32() if name.endswith("_records") else pa.string())
            )
            for name, values in rows.items()
        }
    )


def _upload_id(vendor: str, stamp: str, key: str) -> str:
    """The upload pipeline's id format (ecom_pipeline.product_uploads.upload_id), with the key's MD5 standing in
    for the ETag S3 would have given the object."""
    etag = hashlib.md5(key.encode()).hexdigest()
    digest = hashlib.sha256(f"{key}\x00{etag}".encode()).hexdigest()[:10]
    return f"UPLOAD_{vendor}_{stamp}_{digest}"


_UPLOAD_COLUMNS = (
    "upload_id",
    "vendor_id",
    "file_name",
    "s3_key",
    "status",
    "total_records",
    "valid_records",
    "error_records",
    "error_message",
    "rejection_reason",
    "upload_timestamp",
    "processing_started_at",
    "processing_completed_at",
    "created_at",
    "updated_at",
)
_UPLOAD_STATUSES = ("completed", "partially_completed", "failed", "processing")
_UPLOAD_WEIGHTS = (0.65, 0.2, 0.08, 0.07)
_UPLOAD_ERRORS = {
    "failed": 'CSV header mismatch: missing column "sku"',
    "partially_completed": "some rows failed validation; see the upload errors queue",
}


def metrics_table(count: int, seed: int, window: TimeWindow) -> pa.Table:
    """Metric samples as earlier JSON imports left them (source_file names one import file per day)."""
    rng = rng_for(seed, "metrics")
    which = rng.integers(0, len(METRIC_NAMES), count)
    typical = np.array([m[1] for m in METRIC_NAMES])[which]
    spread = np.array([m[2] for m in METRIC_NAMES])[which]
    values = np.round(np.abs(rng.normal(typical, spread)), 4)
    moment = updated_at_micros(rng, count, window)
    day = (moment - window.start_micros) // (86_400 * MICROS)
    day_names = [
        datetime.fromtimestamp((window.start_micros + d * 86_400 * MICROS) / MICROS, UTC).strftime("%Y%m%d")
        for d in range(window.span_micros // (86_400 * MICROS))
    ]
    loaded = moment + rng.integers(1, 3_600, count) * MICROS
    return pa.table(
        {
            "id": np.arange(1, count + 1, dtype=np.int64),
            "name": pick([m[0] for m in METRIC_NAMES], which),
            "value": values,
            "timestamp": timestamps(moment),
            "source_file": text("imports/history/metrics_", pick(day_names, day), ".json"),
            "created_at": timestamps(loaded),
            "updated_at": timestamps(loaded),
        }
    )
