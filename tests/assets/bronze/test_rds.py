"""Bronze assets against the live stack: windows, checkpoints, re-runs, backfills and failures."""

from datetime import UTC, datetime

import pyarrow.compute as pc
from psycopg2 import sql

from assets.bronze.checks import NOT_NULL_CHECK, PRIMARY_KEY_CHECK, ROW_COUNT_CHECK, SCHEMA_CHECK
from ecom_pipeline.bronze.windows import LOAD_TYPE_TAG
from tests.assets.bronze.sandbox import (
    check_outcomes,
    materialization_metadata,
    step_errors,
)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_events(sandbox, rows: list[tuple[int, str, str]]) -> None:
    """rows: (id, created_at, updated_at)."""
    sandbox.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigint PRIMARY KEY, amount numeric(12, 2), note text,"
            " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)"
        ).format(sandbox.table("events"))
    )
    for row_id, created, updated in rows:
        sandbox.execute(
            sql.SQL(
                "INSERT INTO {} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
                " SET updated_at = EXCLUDED.updated_at, note = EXCLUDED.note"
            ).format(sandbox.table("events")),
            (row_id, row_id * 1.25, f"row {row_id}", ts(created), ts(updated)),
        )


def ids(table) -> list[int]:
    return sorted(table["id"].to_pylist()) if table.num_rows else []


def test_first_run_takes_everything_then_windows_split_exactly_at_midnight(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(
        sandbox,
        [
            (1, "2026-05-01T08:00:00", "2026-06-01T10:00:00"),
            (2, "2026-06-09T23:00:00", "2026-06-10T00:00:00"),  # on the partition's start
            (3, "2026-06-10T05:00:00", "2026-06-10T23:59:59.999999"),
            (4, "2026-06-10T06:00:00", "2026-06-11T00:00:00"),  # on the boundary: belongs to the next day
            (5, "2026-06-11T07:00:00", "2026-06-11T12:00:00"),
        ],
    )
    entity = sandbox.entity("events")

    first = sandbox.run([entity], "2026-06-10")
    assert first.success
    meta = materialization_metadata(first, entity)
    assert meta["first_run"] is True and meta["rows"] == 3 and meta["load_type"] == "incremental"
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-10/")) == [1, 2, 3]
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-11T00:00:00")
    assert check_outcomes(first) == {
        ROW_COUNT_CHECK: True,
        NOT_NULL_CHECK: True,
        PRIMARY_KEY_CHECK: True,
        SCHEMA_CHECK: True,
    }
    keys = sandbox.keys(f"data/bronze/{entity.name}/ingestion_date=2026-06-10/")
    assert [k.split("load_type=")[1] for k in keys] == [
        "incremental/_manifest.json",
        "incremental/event_date=2026-05-01/part-00000.parquet",
        "incremental/event_date=2026-06-09/part-00000.parquet",
        "incremental/event_date=2026-06-10/part-00000.parquet",
    ]

    second = sandbox.run([entity], "2026-06-11")
    assert second.success
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-11/")) == [4, 5]
    assert ids(sandbox.read(entity)) == [1, 2, 3, 4, 5]  # every row exactly once
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-12T00:00:00")

    quiet_day = sandbox.run([entity], "2026-06-12")  # no changes: an empty partition, still checked
    assert quiet_day.success and materialization_metadata(quiet_day, entity)["files"] == 0
    assert all(check_outcomes(quiet_day).values())
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-13T00:00:00")


def test_skipped_day_is_caught_up_and_a_rerun_rewrites_the_same_rows(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(sandbox, [(1, "2026-06-10T01:00:00", "2026-06-10T01:00:00")])
    entity = sandbox.entity("events")
    assert sandbox.run([entity], "2026-06-10").success
    make_events(
        sandbox,
        [
            (2, "2026-06-11T01:00:00", "2026-06-11T01:00:00"),  # the day the schedule skipped
            (3, "2026-06-12T01:00:00", "2026-06-12T02:00:00"),
            (1, "2026-06-10T01:00:00", "2026-06-12T03:00:00"),  # an update of an earlier row
        ],
    )
    caught_up = sandbox.run([entity], "2026-06-12")
    assert caught_up.success
    meta = materialization_metadata(caught_up, entity)
    assert meta["caught_up_days"] == 1 and meta["window_start"] == "2026-06-11T00:00:00+00:00"
    folder = "ingestion_date=2026-06-12/"
    before = sandbox.read(entity, folder)
    assert ids(before) == [1, 2, 3]
    keys_before = sandbox.keys(f"data/bronze/{entity.name}/{folder}")
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-13T00:00:00")

    again = sandbox.run([entity], "2026-06-12")
    assert again.success
    assert materialization_metadata(again, entity)["window_start"] == "2026-06-11T00:00:00+00:00"
    after = sandbox.read(entity, folder)
    assert sandbox.keys(f"data/bronze/{entity.name}/{folder}") == keys_before
    original = ["id", "amount", "note", "created_at", "updated_at", "_record_hash"]
    assert after.select(original).sort_by("id").equals(before.select(original).sort_by("id"))
    assert set(after["_ingestion_id"].to_pylist()) == {again.run_id}


def test_backfilling_an_old_partition_leaves_the_checkpoint_alone(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(
        sandbox,
        [
            (1, "2026-06-03T01:00:00", "2026-06-03T01:00:00"),
            (2, "2026-06-10T01:00:00", "2026-06-10T01:00:00"),
        ],
    )
    entity = sandbox.entity("events")
    assert sandbox.run([entity], "2026-06-10").success
    backfill = sandbox.run([entity], "2026-06-03")
    assert backfill.success
    meta = materialization_metadata(backfill, entity)
    assert meta["checkpoint_advanced"] is False and meta["rows"] == 1
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-03/")) == [1]
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-11T00:00:00")


def test_failed_parquet_write_leaves_checkpoint_and_lake_as_they_were(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(sandbox, [(1, "2026-06-10T01:00:00", "2026-06-10T01:00:00")])
    entity = sandbox.entity("events")
    assert sandbox.run([entity], "2026-06-10").success
    make_events(sandbox, [(2, "2026-06-11T01:00:00", "2026-06-11T01:00:00")])
    keys_before = sandbox.keys()

    # The staging bucket does not exist: S3 rejects the first Parquet part.
    failed = sandbox.run([entity], "2026-06-11", staging_bucket=f"no-such-bucket-{sandbox.unique}")
    assert not failed.success
    (error,) = step_errors(failed).values()
    assert f"S3 bucket 'no-such-bucket-{sandbox.unique}' does not exist" in error
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-11T00:00:00")
    assert sandbox.keys() == keys_before

    retried = sandbox.run([entity], "2026-06-11")
    assert retried.success
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-11/")) == [2]
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-12T00:00:00")
    assert not sandbox.keys("staging/")  # staged parts are cleaned up


def test_full_load_from_a_run_tag_writes_load_type_full(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(
        sandbox,
        [
            (1, "2026-06-01T01:00:00", "2026-06-01T01:00:00"),
            (2, "2026-06-10T01:00:00", "2026-06-10T01:00:00"),
        ],
    )
    entity = sandbox.entity("events")
    assert sandbox.run([entity], "2026-06-10").success
    full = sandbox.run([entity], "2026-06-10", tags={LOAD_TYPE_TAG: "full"})
    assert full.success
    meta = materialization_metadata(full, entity)
    assert meta["load_type"] == "full" and meta["window_start"] == "unbounded (full load)"
    table = sandbox.read(entity, "ingestion_date=2026-06-10/load_type=full/")
    assert ids(table) == [1, 2]
    incremental = sandbox.read(entity, "ingestion_date=2026-06-10/load_type=incremental/")
    # The hash depends on the record only, so full and incremental loads agree.
    assert set(incremental["_record_hash"].to_pylist()) <= set(table["_record_hash"].to_pylist())


def test_one_entity_failing_does_not_stop_the_others(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(sandbox, [(1, "2026-06-10T01:00:00", "2026-06-10T01:00:00")])
    good = sandbox.entity("events")
    broken = sandbox.entity("missing", table="no_such_table")
    result = sandbox.run([broken, good], "2026-06-10")
    assert not result.success
    materialized = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert materialized == {good.asset_name}
    errors = step_errors(result)
    assert list(errors) == [broken.asset_name]
    assert f"source table {sandbox.schema}.no_such_table does not exist" in errors[broken.asset_name]
    assert sandbox.checkpoint(broken) is None
    assert pc.sum(sandbox.read(good)["id"]).as_py() == 1
