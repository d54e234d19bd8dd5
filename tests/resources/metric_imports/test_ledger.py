"""`resources.metric_imports.ledger` against the local PostgreSQL: what the asset checks read."""

import io
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg2
import pytest
from psycopg2 import sql

from deploy.local.sources.database import apply_schema, create_metric_import_sandbox, drop_schema
from ecom_pipeline.metric_imports.selection import FileVersion
from resources.metric_imports.ledger import ImportTables, file_row_stats, import_file_rows

T1 = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 17, 12, 1, tzinfo=UTC)


@pytest.fixture
def metrics_sandbox(stack_env, unique) -> Iterator[tuple[psycopg2.extensions.connection, ImportTables]]:
    dsn = os.environ["ECOM_SOURCE_DSN"]
    apply_schema(dsn)  # public.metrics, which the sandbox copies
    schema = f"test_import_store_{unique}"
    create_metric_import_sandbox(dsn, schema)
    conn = psycopg2.connect(dsn)
    try:
        yield conn, ImportTables(schema)
    finally:
        conn.close()
        drop_schema(dsn, schema)


def _insert(conn, tables: ImportTables, rows: list[tuple[str, float, datetime, str]]) -> None:
    text = "".join(f"{n}\t{v}\t{t.isoformat()}\t{k}\n" for n, v, t, k in rows)
    with conn.cursor() as cur:
        statement = sql.SQL('COPY {} (name, value, "timestamp", source_file) FROM STDIN').format(
            tables.metrics_id
        )
        cur.copy_expert(statement, io.StringIO(text))
    conn.commit()


def test_row_stats_count_a_files_rows_and_its_repeated_instants(metrics_sandbox):
    conn, tables = metrics_sandbox
    a, b = "imports/a.json", "imports/b.json"
    _insert(
        conn,
        tables,
        [("cpu", 1, T1, a), ("cpu", 2, T1, a), ("cpu", 3, T1, a), ("mem", 1, T2, a), ("mem", 1, T2, a)]
        + [("cpu", 9, T2, a), ("cpu", 1, T1, b), ("mem", 1, T2, b)],
    )

    stats = file_row_stats(conn, tables, a)
    assert stats.row_count == 6
    assert stats.duplicate_groups == 2
    assert stats.duplicate_examples == [("cpu", T1, 3), ("mem", T2, 2)]

    clean = file_row_stats(conn, tables, b)  # b's rows repeat a's instants: only the file's own rows count
    assert (clean.row_count, clean.duplicate_groups, clean.duplicate_examples) == (2, 0, [])
    absent = file_row_stats(conn, tables, "imports/none.json")
    assert (absent.row_count, absent.duplicate_groups, absent.duplicate_examples) == (0, 0, [])


def test_a_second_import_of_the_same_version_waits_for_the_first_and_writes_nothing(metrics_sandbox):
    """Sensor and sweep can start the same file at once: the advisory lock makes the second wait, and the ledger
    check after the lock sees the first one's commit."""
    conn, tables = metrics_sandbox
    file = FileVersion("bucket", "imports/same.json", "etag-1", 10)
    rows = "".join(f"cpu\t{i}\t2026-03-17T12:00:0{i}Z\t{file.key}\n" for i in range(3))
    first = import_file_rows(conn, tables, file, rows, 3, "run-a")  # holds the lock until commit
    second_conn = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])
    try:
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(import_file_rows, second_conn, tables, file, rows, 3, "run-b")
            time.sleep(0.5)
            assert not second.done()  # waiting for the first transaction's lock
            conn.commit()
            outcome = second.result(timeout=10)
        second_conn.commit()
    finally:
        second_conn.close()
    assert (first.already_imported, first.rows_imported, first.stats.row_count) == (False, 3, 3)
    assert (outcome.already_imported, outcome.rows_imported, outcome.stats.row_count) == (True, 0, 3)


def test_a_new_version_replaces_the_rows_of_the_earlier_one(metrics_sandbox):
    conn, tables = metrics_sandbox
    key = "imports/changed.json"
    old = "".join(f"cpu\t{i}\t2026-03-17T12:00:0{i}Z\t{key}\n" for i in range(4))
    import_file_rows(conn, tables, FileVersion("bucket", key, "v1", 10), old, 4, "run-a")
    conn.commit()
    new = f"mem\t1\t2026-03-18T00:00:00Z\t{key}\n"
    outcome = import_file_rows(conn, tables, FileVersion("bucket", key, "v2", 10), new, 1, "run-b")
    conn.commit()
    assert (outcome.already_imported, outcome.rows_imported, outcome.rows_replaced) == (False, 1, 4)
    assert (outcome.stats.row_count, outcome.stats.duplicate_groups) == (1, 0)
