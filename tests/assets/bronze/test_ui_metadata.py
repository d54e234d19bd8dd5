"""What the UI keeps of a bronze materialization: check results per partition, standard table metadata."""

import json
import os
import re
import urllib.request
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey
from psycopg2 import sql

from assets.bronze.checks import ROW_COUNT_CHECK, SCHEMA_CHECK
from tests.assets.bronze.sandbox import materialization_metadata

ORDERS_DDL = """
CREATE TABLE {table} (
    id bigint PRIMARY KEY,
    amount numeric(10, 2),
    note text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
)
"""


def _orders(sandbox, rows: list[tuple]) -> None:
    sandbox.execute(sql.SQL(ORDERS_DDL).format(table=sandbox.table("orders")))
    for row in rows:
        sandbox.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(sandbox.table("orders")), row
        )


def test_check_results_are_recorded_for_the_materialized_partition(bronze_sandbox):
    sandbox = bronze_sandbox
    at = datetime(2026, 5, 3, 9, tzinfo=UTC)
    _orders(sandbox, [(1, 10, "a", at, at), (2, 20, "b", at, at)])
    entity = sandbox.entity("orders")
    assert sandbox.run([entity], "2026-05-03").success

    storage = sandbox.instance.event_log_storage
    for name in (ROW_COUNT_CHECK, SCHEMA_CHECK):
        key = AssetCheckKey(AssetKey(entity.asset_name), name)
        records = storage.get_asset_check_execution_history(key, limit=5)
        assert [r.partition for r in records] == ["2026-05-03"], name
        evaluation = records[0].event.dagster_event.asset_check_evaluation_data
        assert evaluation.partition == "2026-05-03" and evaluation.passed


def test_materialization_reports_row_count_column_schema_and_links_that_open(bronze_sandbox):
    sandbox = bronze_sandbox
    at = datetime(2026, 5, 3, 9, tzinfo=UTC)
    _orders(sandbox, [(1, 10, "a", at, at), (2, 20, "b", at, at), (3, None, None, at, at)])
    entity = sandbox.entity("orders")
    result = sandbox.run([entity], "2026-05-03")
    assert result.success

    metadata = materialization_metadata(result, entity)
    assert metadata["dagster/row_count"] == metadata["dagster/partition_row_count"] == 3
    columns = {c.name: c for c in metadata["dagster/column_schema"].columns}
    written = sandbox.read(entity).schema
    assert list(columns) == written.names
    assert columns["amount"].type == "decimal128(10, 2)" and columns["amount"].constraints.nullable
    assert columns["_record_hash"].type == "string" and not columns["_record_hash"].constraints.nullable
    # Locally the links are presigned URLs of the local endpoint: they open as they are.
    part_links = re.findall(r"\]\((http[^)]+)\)", metadata["s3_paths"])
    assert len(part_links) == metadata["files"] == 1
    body = urllib.request.urlopen(part_links[0], timeout=10).read()
    assert pq.read_table(pa.BufferReader(body)).num_rows == 3
    manifest = json.loads(urllib.request.urlopen(metadata["manifest"], timeout=10).read())
    assert manifest["rows_written"] == 3
    assert metadata["partition_path"].startswith(os.environ["AWS_ENDPOINT_URL"])


def test_schema_check_shows_both_partitions_schemas(bronze_sandbox):
    sandbox = bronze_sandbox
    at = datetime(2026, 5, 3, 9, tzinfo=UTC)
    _orders(sandbox, [(1, 10, "a", at, at)])
    entity = sandbox.entity("orders")
    assert sandbox.run([entity], "2026-05-03").success
    sandbox.execute(sql.SQL("ALTER TABLE {} ADD COLUMN channel text").format(sandbox.table("orders")))
    later = datetime(2026, 5, 4, 9, tzinfo=UTC)
    sandbox.execute(
        sql.SQL("INSERT INTO {} VALUES (2, 5, 'b', %s, %s, 'web')").format(sandbox.table("orders")),
        (later, later),
    )
    result = sandbox.run([entity], "2026-05-04")
    assert result.success
    (drift,) = [e for e in result.get_asset_check_evaluations() if e.check_name == SCHEMA_CHECK]
    assert not drift.passed and drift.severity == AssetCheckSeverity.WARN
    previous = {c.name: c.type for c in drift.metadata["previous_schema"].value.columns}
    current = {c.name: c.type for c in drift.metadata["current_schema"].value.columns}
    assert set(current) - set(previous) == {"channel"} and current["channel"] == "string"
