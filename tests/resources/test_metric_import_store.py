"""`resources.metric_import_store` against the local PostgreSQL: what the asset checks read."""

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2
import pytest
from psycopg2 import sql

from deploy.local.sources.database import apply_schema, create_metric_import_sandbox, drop_schema
from resources.metric_import_store import ImportTables, file_row_stats

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
