"""PostgreSQL side of the generator: applying the DDL files and bulk-loading Arrow tables with COPY."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from queue import Empty, Queue

import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import cursor as Cursor

# Serialises concurrent schema changes and seeds from several teammates or test sessions on one server.
_SCHEMA_LOCK_KEY = 0x0EC0_50CE
API_TABLES = ("payments", "shipments")  # in schema `external`, served by deploy/local/source_api


class SchemaFileError(RuntimeError):
    """A DDL file failed; the message names the file and carries the server's error text."""


def schema_files() -> list[Path]:
    """Every `ecom_pipeline/sql/*.sql`, in name order (the order they must be applied in)."""
    directory = Path(str(resources.files("ecom_pipeline") / "sql"))
    return sorted(directory.glob("*.sql"))


@contextmanager
def connect(dsn: str, schema: str | None = None) -> Iterator[Connection]:
    """A connection in UTC whose work commits on success and rolls back on error, then closes. With
    `schema`, unqualified names resolve in that schema only (a test sandbox)."""
    conn = psycopg2.connect(dsn, options="-c TimeZone=UTC")
    try:
        if schema is not None:
            with conn, conn.cursor() as cur:
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        with conn:
            yield conn
    finally:
        conn.close()


def create_metric_import_sandbox(dsn: str, schema: str) -> None:
    """`schema` holding an empty `metrics` shaped like `public.metrics` (same indexes) and the import ledger:
    where metric-import tests and the benchmark write, apart from the shared tables."""
    ledger_ddl = next(path for path in schema_files() if path.name == "020_metric_imports.sql").read_text()
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("CREATE TABLE {}.metrics (LIKE public.metrics INCLUDING ALL)").format(
                sql.Identifier(schema)
            )
        )
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        cur.execute(ledger_ddl)


def create_upload_sandbox(dsn: str, schema: str, vendors: dict[str, str]) -> None:
    """`schema` holding every source table and the given vendors (id -> status): where upload tests and the
    benchmark validate against, apart from the shared tables."""
    apply_schema(dsn, schema)
    with connect(dsn, schema) as conn, conn.cursor() as cur:
        for vendor_id, status in vendors.items():
            cur.execute(
                "INSERT INTO vendors (vendor_id, vendor_name, email, country_code, status) "
                "VALUES (%s, %s, %s, 'US', %s)",
                [vendor_id, f"Vendor {vendor_id}", f"{vendor_id.lower()}@example.com", status],
            )


def drop_schema(dsn: str, schema: str) -> None:
    """Remove a sandbox schema and everything in it (tests and benchmarks clean up with it)."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def qualified_in(name: str, schema: str | None) -> str:
    """Where a source table lives: as named (`orders`, `external.payments`), or every table inside the
    sandbox `schema` when one is given."""
    return name if schema is None else f"{schema}.{name.rpartition('.')[2]}"


def lock_schema(cur: Cursor) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))


def apply_schema(dsn: str, schema: str | None = None) -> list[str]:
    """Apply every DDL file in name order inside one transaction; returns the file names applied.

    The files are idempotent, so this is safe on a database that already has the schema. With `schema`
    (a sandbox for tests), the unqualified tables are created there and the sandbox also gets its own
    `payments`/`shipments` shaped like `external.*`, so nothing shared is written."""
    applied: list[str] = []
    with connect(dsn) as conn, conn.cursor() as cur:
        lock_schema(cur)
        if schema is not None:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        for path in schema_files():
            try:
                cur.execute(path.read_text(encoding="utf-8"))
            except psycopg2.Error as exc:
                raise SchemaFileError(f"{path.name}: {str(exc).strip()}") from exc
            applied.append(path.name)
        if schema is not None:
            for name in API_TABLES:
                cur.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(schema, name), sql.Identifier("external", name)
                    )
                )
    return applied


def encode_csv(table: pa.Table) -> io.BytesIO:
    """An Arrow table as headerless CSV, ready for COPY. CSV keeps NULL (unquoted empty) apart from the
    empty string (quoted), which is why it is used over COPY's text format."""
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, batch_size=8_192))
    buffer.seek(0)
    return buffer


def copy_csv(
    cur: Cursor, target: sql.Composable, columns: list[str], buffer: io.BytesIO, freeze: bool
) -> None:
    """COPY headerless CSV into `target`. FREEZE is only legal when `target` was created or truncated in
    this transaction; it spares every later reader the hint-bit writes on a million fresh rows."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv{})").format(
        target,
        sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        sql.SQL(", FREEZE true") if freeze else sql.SQL(""),
    )
    cur.copy_expert(statement, buffer, size=1 << 20)


def copy_pipelined(
    cur: Cursor, batches: Iterator[tuple[str, pa.Table]], freeze: bool = False, depth: int = 2
) -> dict[str, int]:
    """COPY (table name, Arrow table) batches while a worker thread generates and encodes the next ones,
    so client-side generation overlaps the server's parsing. Returns rows sent per table name."""
    queue: Queue[tuple[str, list[str], int, io.BytesIO] | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for name, table in batches:
                if stop.is_set():
                    return
                if table.num_rows:
                    queue.put((name, table.column_names, table.num_rows, encode_csv(table)))
            queue.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    worker = threading.Thread(target=produce, name="source-generator", daemon=True)
    worker.start()
    counts: dict[str, int] = {}
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            name, columns, rows, buffer = item
            copy_csv(cur, table_name(name), columns, buffer, freeze)
            counts[name] = counts.get(name, 0) + rows
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get(timeout=0.1)
            except Empty:
                pass
        worker.join()
    return counts


@contextmanager
def secondary_indexes_deferred(cur: Cursor, qualified: str) -> Iterator[None]:
    """Drop the table's non-constraint indexes and rebuild them afterwards, inside the caller's
    transaction: one sorted build is several times faster than maintaining them row by row during COPY."""
    schema, _, name = qualified.rpartition(".")
    cur.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = COALESCE(NULLIF(%s, ''), current_schema()) AND i.tablename = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(
                quote_ident(i.schemaname) || '.' || quote_ident(i.indexname)))
        ORDER BY i.indexname
        """,
        (schema, name),
    )
    definitions = cur.fetchall()
    for index_name, _ in definitions:
        cur.execute(
            sql.SQL("DROP INDEX {}").format(sql.Identifier(*(([schema] if schema else []) + [index_name])))
        )
    yield
    for _, definition in definitions:
        cur.execute(definition)  # pg_indexes.indexdef: server-generated, fully quoted DDL


def table_name(qualified: str) -> sql.Composable:
    """'external.payments' -> "external"."payments"; 'orders' -> "orders"."""
    return sql.Identifier(*qualified.split("."))


def truncate(cur: Cursor, qualified_names: list[str]) -> None:
    cur.execute(
        sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(table_name(name) for name in qualified_names))
    )


def reset_identity(cur: Cursor, qualified: str, column: str) -> None:
    """Move an identity/serial sequence past the ids COPY wrote, so later INSERTs don't collide."""
    cur.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE((SELECT max({}) FROM {}), 0) + 1, false)"
        ).format(sql.Identifier(column), table_name(qualified)),
        (table_name(qualified).as_string(cur), column),
    )
