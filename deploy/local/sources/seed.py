"""Filling the source database: `seed_source_database` (every table) and `generate_orders_table` (orders only,
for the bronze benchmark). Both truncate and reload in one transaction, so a re-run gives the same rows
and a failed run leaves the previous contents untouched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date

import numpy as np
import pyarrow as pa
from psycopg2 import sql

from deploy.local.sources.catalog import (
    ACTIVE_VENDORS_PER_SCALE,
    PRODUCTS_PER_VENDOR,
    active_vendor_ids,
    catalog_product,
)
from deploy.local.sources.columns import DEFAULT_END, DEFAULT_START, TimeWindow
from deploy.local.sources.database import (
    apply_schema,
    connect,
    copy_pipelined,
    lock_schema,
    qualified_in,
    reset_identity,
    secondary_indexes_deferred,
    table_name,
    truncate,
)
from deploy.local.sources.entities import (
    CUSTOMERS_PER_SCALE,
    METRICS_PER_SCALE,
    UPLOADS_PER_SCALE,
    customers_table,
    metrics_table,
    products_table,
    upload_history_table,
    vendor_rows,
    vendors_table,
)
from deploy.local.sources.orders import ORDERS_PER_SCALE, OrderUniverse, order_chunk, order_chunks

SOURCE_TABLES = (
    "vendors",
    "customers",
    "upload_history",
    "products",
    "orders",
    "order_items",
    "metrics",
    "external.payments",
    "external.shipments",
)


def _check_scale(scale: int) -> None:
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")


def order_universe(scale: int, seed: int) -> OrderUniverse:
    """Customers and products that orders at this scale refer to (the same ones the seed loads)."""
    products = [
        catalog_product(v, n, seed)
        for v in active_vendor_ids(ACTIVE_VENDORS_PER_SCALE * scale)
        for n in range(1, PRODUCTS_PER_VENDOR + 1)
    ]
    return OrderUniverse(
        customer_count=CUSTOMERS_PER_SCALE * scale,
        product_ids=np.arange(1, len(products) + 1, dtype=np.int64),
        product_skus=[p.sku for p in products],
        product_price_cents=np.array([p.price_cents for p in products], dtype=np.int64),
    )


def entity_tables(scale: int, seed: int = 0, window: TimeWindow | None = None) -> dict[str, pa.Table]:
    """The non-order tables at this scale, keyed by (schema-qualified) table name. Pure: no database."""
    _check_scale(scale)
    window = window or TimeWindow()
    active = active_vendor_ids(ACTIVE_VENDORS_PER_SCALE * scale)
    uploads = upload_history_table(
        UPLOADS_PER_SCALE * scale, [v for v, _ in vendor_rows(active)], seed, window
    )
    return {
        "vendors": vendors_table(active, seed, window),
        "customers": customers_table(CUSTOMERS_PER_SCALE * scale, seed, window),
        "upload_history": uploads,
        "products": products_table(active, uploads, seed, window),
        "metrics": metrics_table(METRICS_PER_SCALE * scale, seed, window),
    }


def iter_order_tables(
    orders: int,
    seed: int = 0,
    window: TimeWindow | None = None,
    scale: int | None = None,
    related: bool = True,
) -> Iterator[dict[str, pa.Table]]:
    """Chunks of {orders, order_items, external.payments, external.shipments} (only orders when
    `related` is False). Pure: no database."""
    window = window or TimeWindow()
    universe = order_universe(scale or max(1, -(-orders // ORDERS_PER_SCALE)), seed)
    for index, first_id, count in order_chunks(orders):
        chunk = order_chunk(universe, seed, window, index, first_id, count, related=related)
        tables = {
            "orders": chunk.orders,
            "order_items": chunk.order_items,
            "external.payments": chunk.payments,
            "external.shipments": chunk.shipments,
        }
        yield {name: table for name, table in tables.items() if table is not None}


# Pipeline bookkeeping that describes rows of the source tables (see ecom_pipeline/sql/020_metric_imports.sql).
LEDGER_TABLES = ("metric_import_files",)


def seed_source_database(
    dsn: str,
    scale: int = 1,
    *,
    seed: int = 0,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    schema: str | None = None,
) -> dict[str, int]:
    """Create the schema and (re)load every source table; returns rows per table (keys: SOURCE_TABLES).

    Rows scale linearly: per unit of `scale`, 2,000 customers, 10 active vendors (+ VEND098 suspended and
    VEND099 inactive), 500 products, 10,000 orders (~25,000 items), 40 uploads, 2,000 metrics.
    `schema` loads every table into that sandbox schema instead (see `apply_schema`)."""
    _check_scale(scale)
    window = TimeWindow(start, end)
    apply_schema(dsn, schema)
    where = {name: qualified_in(name, schema) for name in SOURCE_TABLES}

    def batches() -> Iterator[tuple[str, pa.Table]]:
        for name, table in entity_tables(scale, seed, window).items():
            yield where[name], table
        for chunk in iter_order_tables(ORDERS_PER_SCALE * scale, seed, window, scale=scale):
            for name, table in chunk.items():
                yield where[name], table

    with connect(dsn) as conn, conn.cursor() as cur, ExitStack() as deferred:
        lock_schema(cur)
        truncate(cur, list(where.values()))
        # The import ledger records which files' rows are in `metrics`; the seed just replaced those rows.
        truncate(cur, [qualified_in(name, schema) for name in LEDGER_TABLES])
        for name in where.values():
            deferred.enter_context(secondary_indexes_deferred(cur, name))
        loaded = copy_pipelined(cur, batches(), freeze=True)
        deferred.close()  # rebuild the indexes before the sequences move and the transaction commits
        reset_identity(cur, where["products"], "product_id")
        reset_identity(cur, where["metrics"], "id")
    _analyze(dsn, list(where.values()))
    return {name: loaded.get(where[name], 0) for name in SOURCE_TABLES}


def generate_orders_table(
    dsn: str,
    rows: int,
    table: str = "orders",
    *,
    schema: str = "public",
    seed: int = 0,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
) -> int:
    """(Re)load `schema.table` with `rows` orders shaped like `public.orders`; returns rows loaded.

    A table other than public.orders is created as `LIKE public.orders INCLUDING ALL`, so a benchmark can
    load a million rows beside the shared data. With rows = 10,000 x scale the rows equal the orders
    `seed_source_database(dsn, scale)` loads."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    window = TimeWindow(start, end)
    apply_schema(dsn)
    qualified = f"{schema}.{table}"

    def batches() -> Iterator[tuple[str, pa.Table]]:
        for chunk in iter_order_tables(rows, seed, window, related=False):
            yield qualified, chunk["orders"]

    with connect(dsn) as conn, conn.cursor() as cur:
        if (schema, table) != ("public", "orders"):
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            cur.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE public.orders INCLUDING ALL)").format(
                    sql.Identifier(schema, table)
                )
            )
        truncate(cur, [qualified])
        with secondary_indexes_deferred(cur, qualified):
            loaded = copy_pipelined(cur, batches(), freeze=True).get(qualified, 0)
    _analyze(dsn, [qualified])
    return loaded


def _analyze(dsn: str, qualified_names: list[str]) -> None:
    """Fresh statistics, so incremental `updated_at >=` queries use the index right after a load."""
    with connect(dsn) as conn, conn.cursor() as cur:
        for name in qualified_names:
            cur.execute(sql.SQL("ANALYZE {}").format(table_name(name)))
