"""What the UI keeps of a bronze materialization: check results per partition, standard table metadata."""

from datetime import UTC, datetime

from dagster import AssetCheckKey, AssetKey
from psycopg2 import sql

from assets.bronze.checks import ROW_COUNT_CHECK, SCHEMA_CHECK

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
