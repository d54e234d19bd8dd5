"""Real database failures in the middle of a file: a trigger that raises, a backend killed mid-COPY.

The failures come from PostgreSQL itself, in the test's own schema; a sequence (not rolled back with the
transaction) makes a trigger fail only on the first attempt.
"""

import threading
import time

import psycopg2
from psycopg2 import sql

from tests.assets.metric_imports.sandbox import ImportEnv, metric_records

FAIL_ON_RECORD = 30  # the trigger fires on this record, so 30 rows are already in the COPY


def _install_trigger(env: ImportEnv, body: str) -> None:
    """A BEFORE INSERT trigger on the test schema's `metrics`; `body` decides what the target row does."""
    schema = sql.Identifier(env.schema)
    with psycopg2.connect(env.dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SEQUENCE {}.trigger_hits").format(schema))
        cur.execute(
            sql.SQL(
                """CREATE FUNCTION {schema}.fail_mid_file() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.value = {value} THEN {body} END IF;
                    RETURN NEW;
                END $$"""
            ).format(schema=schema, value=sql.Literal(FAIL_ON_RECORD * 0.25), body=sql.SQL(body))
        )
        cur.execute(
            sql.SQL(
                "CREATE TRIGGER fail_mid_file BEFORE INSERT ON {schema}.metrics "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.fail_mid_file()"
            ).format(schema=schema)
        )
    conn.close()


def _drop_trigger(env: ImportEnv) -> None:
    with psycopg2.connect(env.dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TRIGGER fail_mid_file ON {}.metrics").format(sql.Identifier(env.schema)))
    conn.close()


def _hits(env: ImportEnv) -> int:
    return env.query("SELECT last_value FROM {schema}.trigger_hits")[0][0]


def _attempts(result) -> int:
    (event,) = result.get_asset_materialization_events()
    return event.materialization.metadata["db_attempts"].value


def test_serialization_failure_mid_file_is_retried_and_leaves_nothing_partial(import_env: ImportEnv):
    _install_trigger(
        import_env,
        "IF nextval(TG_TABLE_SCHEMA || '.trigger_hits') = 1 THEN "
        "RAISE EXCEPTION 'injected failure at record 30' USING ERRCODE = 'serialization_failure'; END IF;",
    )
    key = "imports/flaky.json"
    import_env.put(key, metric_records(100))

    result = import_env.run(key)

    assert result.success
    assert _hits(import_env) == 2  # the first attempt died at record 30, the second went through
    assert _attempts(result) == 2
    assert import_env.rows_of(key) == 100  # exactly once: the 30 rows of the failed attempt are gone
    assert import_env.ledger(key)["attempts"] == 1


def test_persistent_failure_leaves_no_rows_then_a_retry_run_succeeds(import_env: ImportEnv):
    _install_trigger(
        import_env,
        "PERFORM nextval(TG_TABLE_SCHEMA || '.trigger_hits'); "
        "RAISE EXCEPTION 'database keeps failing' USING ERRCODE = 'serialization_failure';",
    )
    key = "imports/down.json"
    import_env.put(key, metric_records(100))

    failed = import_env.run(key)

    assert not failed.success
    assert _hits(import_env) == import_env.config.db_attempts  # retried with backoff, then gave up
    assert import_env.rows_of(key) == 0
    ledger = import_env.ledger(key)
    assert ledger["status"] == "failed" and ledger["rows_imported"] == 0
    assert "no rows written" in ledger["error"]
    (message,) = import_env.dlq_messages()
    assert message["reason_code"] == "database_error" and message["key"] == key
    assert import_env.object_keys("quarantine/") == []  # not bad input: nothing quarantined
    assert import_env.metric_sums()["FilesFailed"] == 1

    _drop_trigger(import_env)
    retried = import_env.run(key)

    assert retried.success
    assert import_env.rows_of(key) == 100
    assert import_env.ledger(key)["status"] == "imported"


def test_connection_killed_mid_copy_is_retried_on_a_new_connection(import_env: ImportEnv):
    # The first time record 30 arrives, the backend sleeps inside the COPY; the test kills it there.
    _install_trigger(
        import_env, "IF nextval(TG_TABLE_SCHEMA || '.trigger_hits') = 1 THEN PERFORM pg_sleep(30); END IF;"
    )
    key = "imports/killed.json"
    import_env.put(key, metric_records(100))
    killed: list[int] = []

    def kill_the_importer() -> None:
        deadline = time.monotonic() + 20
        conn = psycopg2.connect(import_env.dsn)
        conn.autocommit = True  # pg_stat_activity is a snapshot per transaction: look afresh every poll
        try:
            with conn.cursor() as cur:
                while time.monotonic() < deadline and not killed:
                    cur.execute(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE %s",
                        [f'COPY "{import_env.schema}"."metrics"%'],
                    )
                    for (pid,) in cur.fetchall():
                        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
                        killed.append(pid)
                    time.sleep(0.05)
        finally:
            conn.close()

    killer = threading.Thread(target=kill_the_importer)
    killer.start()
    result = import_env.run(key)
    killer.join()

    assert len(killed) == 1
    assert result.success
    assert _attempts(result) == 2
    assert import_env.rows_of(key) == 100


def test_database_failure_stops_a_batch_and_leaves_later_files_for_the_retry(import_env: ImportEnv):
    _install_trigger(
        import_env,
        "PERFORM nextval(TG_TABLE_SCHEMA || '.trigger_hits'); "
        "RAISE EXCEPTION 'database keeps failing' USING ERRCODE = 'serialization_failure';",
    )
    keys = ["imports/b/1.json", "imports/b/2.json", "imports/b/3.json", "imports/b/4.json"]
    import_env.put(keys[0], [r | {"value": 1.0} for r in metric_records(10)])  # no row hits the trigger
    import_env.put(keys[1], metric_records(100))  # record 30 hits it, on every attempt
    import_env.put(keys[2], metric_records(5))
    import_env.put(keys[3], metric_records(7))

    failed = import_env.run_range(keys)

    # Two writers: file 3 was already in flight beside file 2 and completes; file 4 is never started.
    assert import_env.config.db_writers == 2
    assert not failed.success
    assert [e.partition for e in failed.get_asset_materialization_events()] == [keys[0], keys[2]]
    assert [import_env.rows_of(k) for k in keys] == [10, 0, 5, 0]
    assert import_env.ledger(keys[1])["status"] == "failed"
    assert import_env.ledger(keys[3]) is None  # never attempted: no claim either way
    _drop_trigger(import_env)

    retried = import_env.run_range(keys)

    assert retried.success
    assert [import_env.rows_of(k) for k in keys] == [10, 100, 5, 7]
    statuses = {
        e.partition: e.materialization.metadata["status"].value
        for e in retried.get_asset_materialization_events()
    }
    assert statuses == {
        keys[0]: "already_imported",
        keys[1]: "imported",
        keys[2]: "already_imported",
        keys[3]: "imported",
    }
