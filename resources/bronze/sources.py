"""Bronze extraction from the source database (COPY into Arrow) and from the payments/shipments APIs.

Database windows are read with `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: PostgreSQL streams text at full
speed, a thread writes it into a pipe and pyarrow's streaming CSV reader turns it into typed record batches
(types from the catalog), so memory is bounded by the reader's block size whatever the table size.
PostgreSQL also computes each row's `_record_hash` in the same statement. Values are bound by psycopg2
(`mogrify`), identifiers are quoted with `psycopg2.sql.Identifier`.
"""

import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from ecom_pipeline.bronze.api_records import WindowedRecords, filter_window, records_table
from ecom_pipeline.bronze.arrow_types import (
    SourceColumn,
    arrow_schema_for,
    copy_read_schema,
    csv_convert_options,
    csv_parse_options,
    csv_read_options,
    text_decodings,
)
from ecom_pipeline.bronze.enrich import RECORD_HASH, check_no_reserved_columns
from ecom_pipeline.bronze.entities import EntitySpec
from ecom_pipeline.bronze.ingest import Extraction, SourceBatch
from ecom_pipeline.bronze.pg_text import decode_columns
from ecom_pipeline.bronze.record_hash import HASH_SESSION_SETTINGS, hash_column_order
from ecom_pipeline.bronze.windows import EPOCH, ExtractionWindow
from resources.bronze.source_api import SourceApiResource

# information_schema for names and types; pg_attribute for what arrays need (declared dimensions, typmod).
_CATALOG_SQL = """
SELECT c.column_name, c.data_type, c.numeric_precision, c.numeric_scale, c.udt_name, a.attndims, a.atttypmod
FROM information_schema.columns c
JOIN pg_catalog.pg_namespace n ON n.nspname = c.table_schema
JOIN pg_catalog.pg_class r ON r.relnamespace = n.oid AND r.relname = c.table_name
JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attname = c.column_name
WHERE c.table_schema = %s AND c.table_name = %s
ORDER BY c.ordinal_position
"""
_CSV_COLUMN = re.compile(r"CSV column #(\d+)")


def source_columns(conn: Any, entity: EntitySpec) -> list[SourceColumn]:
    """The table's columns from the catalog; fails naming the table or column that is missing."""
    where = f"{entity.schema}.{entity.source_table}"
    with conn.cursor() as cursor:
        cursor.execute(_CATALOG_SQL, (entity.schema, entity.source_table))
        columns = [SourceColumn(*row) for row in cursor.fetchall()]
    if not columns:
        raise ValueError(f"entity {entity.name}: source table {where} does not exist or has no columns")
    names = {c.name for c in columns}
    wanted = [("cursor", entity.cursor_column), ("event date", entity.event_date_column)]
    wanted += [("primary key", key) for key in entity.primary_key]
    for role, column in wanted:
        if column is not None and column not in names:
            raise ValueError(f"entity {entity.name}: {role} column {column!r} is not a column of {where}")
    return columns


def window_query(
    entity: EntitySpec, columns: list[SourceColumn], window: ExtractionWindow
) -> tuple[Any, tuple]:
    """The SELECT of one window, half-open on the cursor column (query start <= cursor < end; the query start
    includes the late-row overlap), with each row's
    `_record_hash` computed by PostgreSQL as the last column (canonical form in record_hash.py)."""
    cursor = sql.Identifier(entity.cursor_column)
    select = sql.SQL("SELECT {columns}, md5(ROW({hashed})::text) AS {hash} FROM {table}").format(
        columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
        hashed=sql.SQL(", ").join(sql.Identifier(n) for n in hash_column_order([c.name for c in columns])),
        hash=sql.Identifier(RECORD_HASH),
        table=sql.Identifier(entity.schema, entity.source_table),
    )
    if window.start is None:
        # Full load: everything changed before the window end, and rows that never recorded a change.
        condition = sql.SQL("{c} < %s OR {c} IS NULL").format(c=cursor)
        return select + sql.SQL(" WHERE ") + condition, (window.end,)
    condition = sql.SQL("{c} >= %s AND {c} < %s").format(c=cursor)
    return select + sql.SQL(" WHERE ") + condition, (window.query_start, window.end)


def rds_extraction(
    connect: Callable[[], Any], entity: EntitySpec, window: ExtractionWindow, block_size: int = 8 << 20
) -> Extraction:
    """Reads the catalog now (so a missing table or column fails first); the COPY runs when iterated."""
    conn = connect()
    try:
        columns = source_columns(conn, entity)
        query, params = window_query(entity, columns, window)
        with conn.cursor() as cursor:
            select_text = cursor.mogrify(query, params).decode("utf-8")
        description = query.as_string(conn)
    finally:
        conn.close()
    schema = arrow_schema_for(columns)
    check_no_reserved_columns(schema.names, f"entity {entity.name} ({entity.schema}.{entity.source_table})")
    copy_text = f"COPY ({select_text}) TO STDOUT WITH (FORMAT csv)"
    where = f"entity {entity.name} ({entity.schema}.{entity.source_table})"
    batches = _copy_batches(connect, copy_text, schema, where, block_size)
    return Extraction(description=description, batches=batches, schema=schema)


def _copy_batches(
    connect: Callable[[], Any], copy_text: str, schema: pa.Schema, where: str, block_size: int
) -> Iterator[SourceBatch]:
    """Streams the COPY through a pipe. The end of the stream (even an empty one) is trusted only after the
    producer has been joined and reported a clean finish: a COPY that fails before its first row closes the
    pipe too, and reading that as "the window has no rows" would publish an empty day."""
    conn = connect()
    # bytea and arrays arrive as their text form and are decoded per batch (pg_text.py).
    decodings = text_decodings(schema)
    copy_schema = copy_read_schema(schema).append(pa.field(RECORD_HASH, pa.string()))
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []
    finished: list[bool] = []

    def produce() -> None:
        pipe = os.fdopen(write_fd, "wb", buffering=1 << 20)
        try:
            with conn.cursor() as cursor:
                for statement in HASH_SESSION_SETTINGS:
                    cursor.execute(statement)
                cursor.copy_expert(copy_text, pipe)
            pipe.flush()
            finished.append(True)
        except BaseException as exc:  # recorded before the pipe closes; reported by the consumer
            failure.append(exc)
        finally:
            try:
                pipe.close()
            except OSError as exc:  # the consumer stopped reading
                failure.append(exc)

    def outcome() -> BaseException | None:
        producer.join()  # the pipe is closed, so the producer is finishing
        if failure:
            return _database_error(failure[0], where)
        if not finished:
            return RuntimeError(f"{where}: COPY ended without finishing")
        return None

    producer = threading.Thread(target=produce, name=f"copy-{where}", daemon=True)
    reader_file = os.fdopen(read_fd, "rb")
    reader = None
    try:
        producer.start()
        try:
            reader = pacsv.open_csv(
                reader_file,
                read_options=csv_read_options(copy_schema, block_size),
                parse_options=csv_parse_options(),
                convert_options=csv_convert_options(copy_schema),
            )
            hash_index = len(schema)
            for batch in reader:
                table = pa.Table.from_batches([batch.drop_columns([RECORD_HASH])])
                if decodings:
                    table = decode_columns(table, decodings, where)
                yield SourceBatch(table, batch.column(hash_index))
        except pa.ArrowInvalid as exc:
            # Either the database failed and the stream ended early (the producer has recorded why), or a
            # value did not convert while the producer is still writing: stop it, then decide.
            _cancel(conn, producer)
            if reader is not None:
                reader.close()
                reader = None
            reader_file.close()
            error = outcome()
            if error is not None and not _caused_by_stopping(failure[0] if failure else None):
                raise error from None
            if error is None and "Empty CSV file" in str(exc):
                return  # the producer finished cleanly: the window has no rows
            raise ValueError(
                f"{where}: cannot convert COPY output: {_name_columns(str(exc), schema)}"
            ) from None
        error = outcome()
        if error is not None:
            raise error
    finally:
        _cancel(conn, producer)
        if reader is not None:
            reader.close()  # stops read-ahead threads before the pipe closes under them
        reader_file.close()
        producer.join(timeout=30)
        conn.close()


def _cancel(conn: Any, producer: threading.Thread) -> None:
    if producer.is_alive():
        try:
            conn.cancel()
        except psycopg2.Error:
            pass  # the connection is already gone, so is its statement


def _caused_by_stopping(exc: BaseException | None) -> bool:
    """The producer's error was our own doing: the pipe closed under it, or our cancel request."""
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, psycopg2.extensions.QueryCanceledError) and "user request" in str(exc)


def _database_error(exc: BaseException, where: str) -> BaseException:
    if isinstance(exc, psycopg2.Error):
        message = (exc.pgerror or str(exc)).strip().splitlines()[0]
        return RuntimeError(f"{where}: COPY failed: {message}")
    return exc


def _name_columns(message: str, schema: pa.Schema) -> str:
    """Arrow numbers CSV columns from 0; say which source column it was."""

    def name(match: re.Match) -> str:
        index = int(match.group(1))
        label = schema.names[index] if index < len(schema.names) else "?"
        return f"column {label!r} (#{index})"

    return _CSV_COLUMN.sub(name, message)


def api_extraction(source_api: SourceApiResource, entity: EntitySpec, window: ExtractionWindow) -> Extraction:
    """All records of the window (an API window is one day of changes: small), filtered here as well."""
    extraction = Extraction(description=f"GET {entity.endpoint}?since=...", batches=iter(()))

    def batches() -> Iterator[SourceBatch]:
        windowed = WindowedRecords()
        since = window.query_start or EPOCH
        for number, page in enumerate(source_api.fetch_since(entity.endpoint, since=since, until=window.end)):
            filter_window(
                page,
                entity.cursor_column,
                window.query_start,
                window.end,
                windowed,
                f"{entity.endpoint} page {number}",
            )
        extraction.rejected.extend(windowed.rejected)
        extraction.outside_window = windowed.outside_window
        if windowed.records:
            table, hashes = records_table(windowed.records)
            yield SourceBatch(table, hashes)

    extraction.batches = batches()
    return extraction
