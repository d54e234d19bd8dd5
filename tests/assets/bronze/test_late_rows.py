"""Late-committed rows against the real PostgreSQL: a transaction commits an older `updated_at` after the
window ran. The next run's overlap re-reads it and it lands exactly once, also across re-runs of both days."""

import os

import psycopg2
from psycopg2 import sql

from tests.assets.bronze.sandbox import check_outcomes, materialization_metadata
from tests.assets.bronze.test_rds import ids, make_events, ts


def _late_transaction(sandbox):
    """An open transaction that has written row 2 with updated_at 2026-06-10 23:30, not yet committed."""
    conn = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])
    with conn.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} VALUES (2, 2.5, 'late', %s, %s)").format(sandbox.table("events")),
            (ts("2026-06-10T23:00:00"), ts("2026-06-10T23:30:00")),
        )
    return conn


def test_a_late_committed_row_lands_exactly_once(bronze_sandbox):
    sandbox = bronze_sandbox
    make_events(
        sandbox,
        [
            (1, "2026-06-10T10:00:00", "2026-06-10T10:00:00"),
            (3, "2026-06-10T23:00:00", "2026-06-10T23:45:00"),  # in the overlap, committed in time
            (4, "2026-06-11T08:00:00", "2026-06-11T08:00:00"),
        ],
    )
    entity = sandbox.entity("events")
    without_overlap = sandbox.entity("no_overlap", table="events")
    late = _late_transaction(sandbox)
    try:
        assert sandbox.run([entity, without_overlap], "2026-06-10").success
        late.commit()  # after the window ran, with an older updated_at
    finally:
        late.close()
    assert ids(sandbox.read(entity)) == [1, 3]

    day = sandbox.run([entity], "2026-06-11")
    assert day.success
    meta = materialization_metadata(day, entity)
    assert meta["read_start"] == "2026-06-10T23:00:00+00:00" and meta["rows_already_held"] == 1
    assert meta["window_start"] == "2026-06-11T00:00:00+00:00"
    assert all(check_outcomes(day).values())
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-11/")) == [2, 4]
    assert ids(sandbox.read(entity)) == [1, 2, 3, 4]  # the late row once, row 3 not twice

    # Re-runs of either day keep it exactly once.
    assert sandbox.run([entity], "2026-06-11").success
    assert sandbox.run([entity], "2026-06-10").success
    assert ids(sandbox.read(entity)) == [1, 2, 3, 4]
    assert ids(sandbox.read(entity, "ingestion_date=2026-06-11/")) == [2, 4]

    # The fault this guards against: without the overlap the late row is never extracted.
    assert sandbox.run([without_overlap], "2026-06-11", late_row_overlap_minutes=0).success
    assert ids(sandbox.read(without_overlap)) == [1, 3, 4]
