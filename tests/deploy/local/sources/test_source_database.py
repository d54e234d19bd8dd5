"""The schema and the seed against the live stack's PostgreSQL, inside a throwaway schema."""

import psycopg2
import pytest
from psycopg2 import sql

from deploy.local.sources import (
    SOURCE_TABLES,
    apply_schema,
    entity_tables,
    generate_orders_table,
    schema_files,
    seed_source_database,
)
from deploy.local.sources.database import connect
from tests.deploy.local.sources.source_sandbox import Sandbox, empty_schema_fixture, source_sandbox_fixture  # noqa: F401 (fixtures)

ENTITY_TABLES = ("customers", "vendors", "products", "orders", "order_items", "upload_history", "metrics")


def _tables(dsn: str, schema: str) -> set[str]:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
        return {r[0] for r in cur.fetchall()}


def test_schema_applies_twice(empty_schema):
    dsn, schema = empty_schema
    first = apply_schema(dsn, schema)
    assert "010_source_schema.sql" in first and first == [p.name for p in schema_files()]
    assert first == sorted(first)
    tables = _tables(dsn, schema)
    assert {*ENTITY_TABLES, "payments", "shipments"} <= tables
    assert apply_schema(dsn, schema) == first
    assert _tables(dsn, schema) == tables


def test_every_entity_table_has_an_updated_at_index(source_sandbox: Sandbox):
    rows = source_sandbox.query(
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s", (source_sandbox.schema,)
    )
    indexed = {table for table, definition in rows if "(updated_at" in definition}
    assert {*ENTITY_TABLES, "payments", "shipments"} <= indexed


def test_seed_counts_match_the_tables(source_sandbox: Sandbox):
    counts = source_sandbox.counts
    assert list(counts) == list(SOURCE_TABLES)
    expected = {n: t.num_rows for n, t in entity_tables(1).items()} | {"orders": 10_000}
    for name, rows in expected.items():
        assert counts[name] == rows, name
    for name, rows in counts.items():
        table = source_sandbox.table(name.rpartition(".")[2])
        assert source_sandbox.query(sql.SQL("SELECT count(*) FROM {}").format(table)) == [(rows,)], name
    assert (
        counts["order_items"]
        > counts["orders"]
        > counts["external.payments"]
        > counts["external.shipments"]
        > 0
    )


def test_values_survive_the_copy(source_sandbox: Sandbox):
    ((nulls, empties),) = source_sandbox.query(
        "SELECT count(*) FILTER (WHERE description IS NULL), count(*) FILTER (WHERE description = '') FROM products"
    )
    assert nulls > 0 and empties > 0
    assert (
        source_sandbox.query("SELECT count(*) FROM customers WHERE city = '東京' AND last_name <> ''")[0][0]
        > 0
    )
    assert source_sandbox.query("SELECT count(*) FROM orders WHERE notes LIKE %s", ("%\n%",))[0][0] > 0
    assert (
        source_sandbox.query("SELECT count(*) FROM orders WHERE shipping_address ? 'recipient'")[0][0]
        == 10_000
    )
    ((status,),) = source_sandbox.query("SELECT status FROM vendors WHERE vendor_id = 'VEND099'")
    assert status == "inactive"
    ((midnight,),) = source_sandbox.query(
        "SELECT count(*) FROM orders WHERE updated_at = '2026-11-02T00:00:00Z'"
    )
    assert midnight > 0


def test_inserts_after_the_seed_get_fresh_ids(source_sandbox: Sandbox):
    ((product_id,),) = source_sandbox.query(
        "INSERT INTO products (vendor_id, vendor_product_id, sku, name, price) "
        "VALUES ('VEND001', 'PROD9999', 'TEST-SKU-9999', 'Test', 1.00) RETURNING product_id"
    )
    assert product_id == source_sandbox.counts["products"] + 1
    ((metric_id,),) = source_sandbox.query(
        "INSERT INTO metrics (name, value, \"timestamp\") VALUES ('t', 1, now()) RETURNING id"
    )
    assert metric_id == source_sandbox.counts["metrics"] + 1


def test_reseed_is_idempotent_and_deterministic(empty_schema):
    dsn, schema = empty_schema
    first = seed_source_database(dsn, 1, schema=schema)
    view = Sandbox(dsn, schema, first)
    hashes = {
        t: view.content_hash(t, k)
        for t, k in (("orders", "order_id"), ("customers", "customer_id"), ("payments", "id"))
    }
    second = seed_source_database(dsn, 1, schema=schema)
    assert second == first
    assert {
        t: view.content_hash(t, k)
        for t, k in (("orders", "order_id"), ("customers", "customer_id"), ("payments", "id"))
    } == hashes


def test_orders_table_for_benchmarks_matches_the_seeded_orders(source_sandbox: Sandbox):
    loaded = generate_orders_table(source_sandbox.dsn, 10_000, "orders_copy", schema=source_sandbox.schema)
    assert loaded == 10_000
    assert source_sandbox.content_hash("orders_copy", "order_id") == source_sandbox.content_hash(
        "orders", "order_id"
    )
    indexes = {
        r[0]
        for r in source_sandbox.query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'orders_copy'",
            (source_sandbox.schema,),
        )
    }
    assert len(indexes) == 3 and any("(updated_at)" in d for d in indexes)  # rebuilt after the load
    assert generate_orders_table(source_sandbox.dsn, 250, "orders_copy", schema=source_sandbox.schema) == 250
    assert source_sandbox.query(
        sql.SQL("SELECT count(*) FROM {}").format(source_sandbox.table("orders_copy"))
    ) == [(250,)]


def test_a_failed_seed_leaves_the_previous_rows(source_sandbox: Sandbox):
    """A constraint the orders violate half-way through the load: the whole reload rolls back."""
    before = source_sandbox.content_hash("customers", "customer_id")
    orders = source_sandbox.table("orders")
    source_sandbox.query(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT test_fail CHECK (order_id < 5000) NOT VALID").format(orders)
    )
    try:
        with pytest.raises(psycopg2.errors.CheckViolation):
            seed_source_database(source_sandbox.dsn, 1, schema=source_sandbox.schema, seed=1)
    finally:
        source_sandbox.query(sql.SQL("ALTER TABLE {} DROP CONSTRAINT test_fail").format(orders))
    assert source_sandbox.content_hash("customers", "customer_id") == before
    assert source_sandbox.query("SELECT count(*) FROM orders") == [(10_000,)]
