"""A metric file whose import keeps failing on the database: counted attempts, backoff, a limit, one final
alert, and a UI re-materialization that still works. Failures come from a trigger in the test's own schema."""

from datetime import timedelta

import psycopg2
from dagster import DagsterEventType

from ecom_pipeline.metric_imports.selection import FAILED, IMPORTED, RetryPolicy
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import ImportTables, failed_versions, ledger_entries
from tests.assets.metric_imports.sandbox import ImportEnv, metric_records
from tests.assets.metric_imports.test_database_failures import _drop_trigger, _install_trigger


def _observed(result, key: str) -> dict:
    events = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_OBSERVATION
        and e.event_specific_data.asset_observation.partition == key
    ]
    assert len(events) == 1
    return {k: v.value for k, v in events[0].event_specific_data.asset_observation.metadata.items()}


def _entry(env: ImportEnv, key: str):
    with psycopg2.connect(env.dsn) as conn:
        entry = ledger_entries(conn, ImportTables(env.schema), [key])[key]
    conn.close()
    return entry


def test_a_file_that_keeps_failing_backs_off_stops_after_the_limit_and_alerts_once(import_env: ImportEnv):
    _install_trigger(
        import_env,
        "PERFORM nextval(TG_TABLE_SCHEMA || '.trigger_hits'); "
        "RAISE EXCEPTION 'database keeps failing' USING ERRCODE = 'serialization_failure';",
    )
    key = "imports/keeps-failing.json"
    import_env.put(key, metric_records(50))
    config = MetricImportsConfig(
        **{
            **import_env.config.model_dump(),
            "db_attempts": 1,
            "sweep_max_attempts": 2,
            "sweep_backoff_minutes": 60.0,
        }
    )
    policy = RetryPolicy(config.sweep_max_attempts, timedelta(minutes=config.sweep_backoff_minutes))

    first = import_env.run(key, config)
    assert not first.success
    assert _observed(first, key).items() >= {"attempts": 1, "max_attempts": 2, "sweep_gave_up": False}.items()
    entry = _entry(import_env, key)
    assert (entry.status, entry.attempts) == (FAILED, 1)
    # Backoff: not due right after the attempt, due an hour later.
    assert not policy.due(entry, entry.last_attempt_at + timedelta(minutes=59))
    assert policy.due(entry, entry.last_attempt_at + timedelta(minutes=60))
    assert len(import_env.dlq_messages()) == 1 and import_env.notifications() == []

    second = import_env.run(key, config)
    assert not second.success
    assert _observed(second, key).items() >= {"attempts": 2, "sweep_gave_up": True}.items()
    entry = _entry(import_env, key)
    assert (entry.status, entry.attempts) == (FAILED, 2)
    assert policy.next_attempt_at(entry) is None  # the sweep gave up on this version
    with psycopg2.connect(import_env.dsn) as conn:
        later = entry.last_attempt_at + timedelta(days=30)
        assert failed_versions(conn, ImportTables(import_env.schema), policy, later, limit=10) == []
    conn.close()
    assert len(import_env.dlq_messages()) == 1
    (alert,) = import_env.notifications()  # the one final alert
    assert alert["key"] == key and alert["details"]["attempts"] == 2
    assert "materialize its partition from the UI" in alert["message"]
    assert import_env.ledger(key)["error"].endswith(
        "the sweep gives up on this version, materialize its partition from the UI to import it"
    )

    _drop_trigger(import_env)
    again = import_env.run(key, config)  # a re-materialization from the UI
    assert again.success
    assert import_env.ledger(key)["status"] == IMPORTED and import_env.rows_of(key) == 50


def test_a_database_error_that_is_not_transient_leaves_a_ledger_row_and_a_dead_letter(import_env: ImportEnv):
    _install_trigger(
        import_env,
        "RAISE EXCEPTION 'value out of range for this table' USING ERRCODE = 'check_violation';",
    )
    key = "imports/violates-a-check.json"
    import_env.put(key, metric_records(50))

    result = import_env.run(key)

    assert not result.success
    row = import_env.ledger(key)
    assert row["status"] == FAILED and row["attempts"] == 1
    assert "not transient" in row["error"] and "CheckViolation" in row["error"] and key in row["error"]
    (letter,) = import_env.dlq_messages()
    assert (
        letter["key"] == key
        and letter["reason_code"] == "database_error"
        and "CheckViolation" in letter["message"]
    )
    assert import_env.rows_of(key) == 0
