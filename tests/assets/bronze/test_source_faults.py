"""Source failures injected into the real PostgreSQL: before the first row, mid-stream, statement timeout.

The source is a view over a table whose filter calls `bronze_fault(id)`, a function that reads the wanted
fault from a one-row control table: raise SQLSTATE 40001 on the first row, block on an advisory lock after
some rows (so the test can `pg_terminate_backend` the extracting backend mid-stream), or sleep past the
connection's statement timeout. Each must fail the step naming the entity and leave lake and checkpoint as
they were; a re-run without the fault must converge to the rows a clean run wrote.
"""

import os
import threading
import time
from datetime import UTC, date, datetime

import psycopg2
import pytest
from psycopg2 import sql

from ecom_pipeline.bronze.windows import ExtractionWindow, LoadType
from resources.bronze.sources import rds_extraction
from tests.assets.bronze.sandbox import step_errors
from tests.assets.bronze.test_rds import ids, make_events, ts

_ROWS_BEFORE_BLOCK = 3000
_LOCK_KEY = 815_015


def _faulty_view(sandbox) -> None:
    make_events(sandbox, [(i, "2026-06-10T01:00:00", "2026-06-10T02:00:00") for i in range(1, 11)])
    sandbox.execute(
        sql.SQL(
            "INSERT INTO {} SELECT g, g * 1.25, repeat('x', 80), %s, %s FROM generate_series(11, %s) g"
        ).format(sandbox.table("events")),
        (ts("2026-06-10T01:00:00"), ts("2026-06-10T03:00:00"), _ROWS_BEFORE_BLOCK * 2),
    )
    sandbox.execute(sql.SQL("CREATE TABLE {} (mode text NOT NULL)").format(sandbox.table("fault")))
    sandbox.execute(sql.SQL("INSERT INTO {} VALUES ('none')").format(sandbox.table("fault")))
    sandbox.execute(
        sql.SQL(
            """CREATE FUNCTION {fn}(row_id bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
            DECLARE wanted text;
            BEGIN
              SELECT mode INTO wanted FROM {control};
              IF wanted = 'first_row' THEN
                RAISE EXCEPTION 'injected replica conflict' USING ERRCODE = '40001';
              ELSIF wanted = 'block' AND row_id > {rows} THEN
                PERFORM pg_advisory_lock({key});
                PERFORM pg_advisory_unlock({key});
              ELSIF wanted = 'sleep' THEN
                PERFORM pg_sleep(30);
              END IF;
              RETURN true;
            END $$"""
        ).format(
            fn=sandbox.table("bronze_fault"),
            control=sandbox.table("fault"),
            rows=sql.Literal(_ROWS_BEFORE_BLOCK),
            key=sql.Literal(_LOCK_KEY),
        )
    )
    sandbox.execute(
        sql.SQL("CREATE VIEW {view} AS SELECT * FROM {table} WHERE {fn}(id)").format(
            view=sandbox.table("events_view"), table=sandbox.table("events"), fn=sandbox.table("bronze_fault")
        )
    )


def _set_fault(sandbox, mode: str) -> None:
    sandbox.execute(sql.SQL("UPDATE {} SET mode = %s").format(sandbox.table("fault")), (mode,))


def _lake_state(sandbox, entity) -> tuple[list[str], datetime | None]:
    checkpoint = sandbox.checkpoint(entity)
    return sandbox.keys(f"data/bronze/{entity.name}/"), checkpoint.last_sync_timestamp if checkpoint else None


def _assert_failed_and_untouched(sandbox, entity, result, state, reason: str) -> None:
    assert not result.success
    (error,) = step_errors(result).values()
    assert f"entity {entity.name} ({sandbox.schema}.events_view): COPY failed" in error
    assert reason in error
    assert _lake_state(sandbox, entity) == state
    assert not sandbox.keys("staging/")


def _converges(sandbox, entity, clean_rows) -> None:
    _set_fault(sandbox, "none")
    again = sandbox.run([entity], "2026-06-10")
    assert again.success
    original = ["id", "amount", "note", "updated_at", "_record_hash"]
    assert sandbox.read(entity).select(original).sort_by("id").equals(clean_rows)
    assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-11T00:00:00")


@pytest.fixture(name="faulty")
def faulty_fixture(bronze_sandbox):
    sandbox = bronze_sandbox
    _faulty_view(sandbox)
    entity = sandbox.entity("events", table="events_view")
    assert sandbox.run([entity], "2026-06-10").success
    clean = sandbox.read(entity).select(["id", "amount", "note", "updated_at", "_record_hash"]).sort_by("id")
    assert ids(clean) == list(range(1, _ROWS_BEFORE_BLOCK * 2 + 1))
    return sandbox, entity, clean


def test_failure_before_the_first_row_never_reads_as_an_empty_window(faulty):
    sandbox, entity, clean = faulty
    _set_fault(sandbox, "first_row")
    window = ExtractionWindow(
        date(2026, 6, 10), LoadType.INCREMENTAL, ts("2026-06-10T00:00:00"), ts("2026-06-11T00:00:00"), None
    )

    def connect():
        return psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])

    # The race between the pipe closing and the error being recorded is probabilistic: try it many times.
    for attempt in range(40):
        extraction = rds_extraction(connect, entity, window)
        with pytest.raises(RuntimeError, match="injected replica conflict"):
            rows = sum(batch.table.num_rows for batch in extraction.batches)
            pytest.fail(f"attempt {attempt}: the failed COPY read as {rows} rows")

    state = _lake_state(sandbox, entity)
    failed = sandbox.run([entity], "2026-06-10")
    _assert_failed_and_untouched(sandbox, entity, failed, state, "injected replica conflict")
    _converges(sandbox, entity, clean)


def test_backend_terminated_mid_stream_fails_the_step(faulty):
    sandbox, entity, clean = faulty
    state = _lake_state(sandbox, entity)
    _set_fault(sandbox, "block")
    holder = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=sandbox.run([entity], "2026-06-10")))
    runner.start()
    try:
        # The COPY has sent its first rows and now waits for the lock: kill that backend.
        deadline = time.monotonic() + 300
        killed = []
        while not killed and time.monotonic() < deadline and runner.is_alive():
            killed = sandbox.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE 'COPY%%'"
            )
            time.sleep(0.2)
        assert killed == [(True,)]
    finally:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        holder.close()
        runner.join()
    _assert_failed_and_untouched(sandbox, entity, outcome["result"], state, "server closed the connection")
    _converges(sandbox, entity, clean)


def test_statement_timeout_fails_the_step(faulty):
    sandbox, entity, clean = faulty
    state = _lake_state(sandbox, entity)
    _set_fault(sandbox, "sleep")
    # The resource sets statement_timeout on every source connection it opens.
    failed = sandbox.run([entity], "2026-06-10", rds_settings={"statement_timeout_ms": 1000})
    _assert_failed_and_untouched(sandbox, entity, failed, state, "statement timeout")
    _converges(sandbox, entity, clean)


def test_an_empty_window_still_publishes_an_empty_day(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(sandbox, [(1, "2026-06-09T01:00:00", "2026-06-09T01:00:00")])
    entity = sandbox.entity("events")
    window = ExtractionWindow(
        date(2026, 6, 10),
        LoadType.INCREMENTAL,
        ts("2026-06-10T00:00:00"),
        datetime(2026, 6, 11, tzinfo=UTC),
        None,
    )
    extraction = rds_extraction(lambda: psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]), entity, window)
    assert list(extraction.batches) == []
