"""A throwaway schema on the live stack's PostgreSQL, seeded once per test session.

The `ecom` role cannot CREATE DATABASE, so isolation is a uniquely named schema: `apply_schema(dsn, schema)`
puts every source table (payments/shipments included) there, and the session drops it at the end. The shared
`ecommerce_platform` tables are never written.
"""

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg2
import pytest
from psycopg2 import sql

from deploy.local.sources import seed_source_database
from deploy.local.sources.database import drop_schema


@dataclass(frozen=True)
class Sandbox:
    dsn: str = field(repr=False)  # carries the password
    schema: str
    counts: dict[str, int]

    def query(self, statement: sql.Composable | str, params: tuple = ()) -> list[tuple]:
        conn = psycopg2.connect(self.dsn, options="-c TimeZone=UTC")
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def content_hash(self, name: str, order_by: str) -> str:
        """MD5 over every row's text form in key order: equal hashes mean equal contents."""
        rows = self.query(
            sql.SQL("SELECT t::text FROM {} t ORDER BY {}").format(self.table(name), sql.Identifier(order_by))
        )
        return hashlib.md5("\n".join(r[0] for r in rows).encode()).hexdigest()


@pytest.fixture(scope="session", name="source_sandbox")
def source_sandbox_fixture(stack_env) -> Iterator[Sandbox]:
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema = f"src_test_{uuid.uuid4().hex[:12]}"
    try:
        counts = seed_source_database(dsn, scale=1, schema=schema)
        yield Sandbox(dsn=dsn, schema=schema, counts=counts)
    finally:
        drop_schema(dsn, schema)


@pytest.fixture(name="empty_schema")
def empty_schema_fixture(stack_env) -> Iterator[tuple[str, str]]:
    """(dsn, schema name) of a schema that does not exist yet; dropped afterwards."""
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema = f"src_test_{uuid.uuid4().hex[:12]}"
    try:
        yield dsn, schema
    finally:
        drop_schema(dsn, schema)
