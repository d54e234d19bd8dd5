"""`import_sensor` and `metric_import_schedule` against the stack's S3 and PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from assets.metric_imports import imported_metrics
from ecom_pipeline.jobs import metric_import_job
from ecom_pipeline.partitions import metric_import_file_partitions
from resources import build_resources
from resources.metric_import_store import FileVersion, ImportTables, record_failure
from sensors.metric_imports import ETAG_TAG, import_sensor, metric_import_schedule
from tests.assets.test_metric_imports_support import (  # noqa: F401
    ImportEnv,
    import_env_fixture,
    metric_records,
    source_schema,
)


def _definitions(env: ImportEnv) -> Definitions:
    """Just this pipeline, with the test's bucket, schema and queues (run requests resolve against it)."""
    shared = build_resources()
    return Definitions(
        assets=[imported_metrics],
        jobs=[metric_import_job],
        sensors=[import_sensor],
        schedules=[metric_import_schedule],
        resources={key: shared[key] for key in ("rds", "sqs", "sns", "cloudwatch")}
        | {"metric_imports": env.config},
    )


@pytest.fixture
def daemon_instance() -> Iterator[DagsterInstance]:
    """A persistent (temp dir) instance as the daemon has: sensors resolve dynamic partitions through its
    ref. Runs in these tests go to the ephemeral instance of `import_env`, which is faster."""
    with instance_for_test() as instance:
        yield instance


def _tick(env: ImportEnv, instance: DagsterInstance, cursor: str | None):
    defs = _definitions(env)
    with build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),  # without it Dagster cannot resolve dynamic partition keys
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,
    ) as context:
        return import_sensor.evaluate_tick(context)


def _sweep(env: ImportEnv, instance: DagsterInstance, at: datetime):
    defs = _definitions(env)
    with build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        repository_def=defs.get_repository_def(),
        resources=defs.resources,
    ) as context:
        return metric_import_schedule.evaluate_tick(context)


def test_sensor_requests_one_run_per_new_file_version(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    etag_a = import_env.put("imports/a.json", metric_records(3))
    etag_b = import_env.put("imports/2026/b.json", metric_records(3))
    import_env.put("imports/folder/", b"")  # a console-made folder marker
    import_env.put("elsewhere/c.json", metric_records(3))

    first = _tick(import_env, daemon_instance, None)

    assert {(r.partition_key, r.run_key) for r in first.run_requests} == {
        ("imports/a.json", f"imports/a.json@{etag_a}"),
        ("imports/2026/b.json", f"imports/2026/b.json@{etag_b}"),
    }
    assert {r.tags[ETAG_TAG] for r in first.run_requests} == {etag_a, etag_b}
    (add,) = first.dynamic_partitions_requests
    assert add.partitions_def_name == metric_import_file_partitions.name
    assert sorted(add.partition_keys) == ["imports/2026/b.json", "imports/a.json"]

    quiet = _tick(import_env, daemon_instance, first.cursor)
    assert not quiet.run_requests and "no new files" in quiet.skip_message

    new_etag = import_env.put("imports/a.json", metric_records(4))
    changed = _tick(import_env, daemon_instance, quiet.cursor or first.cursor)
    assert [(r.partition_key, r.run_key) for r in changed.run_requests] == [
        ("imports/a.json", f"imports/a.json@{new_etag}")
    ]


def test_duplicate_event_maps_to_the_same_run_key_and_imports_once(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    key = "imports/once.json"
    import_env.put(key, metric_records(12))
    first = _tick(import_env, daemon_instance, None)
    replayed = _tick(import_env, daemon_instance, None)  # a lost cursor or a repeated S3 event

    assert [r.run_key for r in replayed.run_requests] == [r.run_key for r in first.run_requests]
    for request in first.run_requests + replayed.run_requests:
        assert import_env.run(request.partition_key).success
    assert import_env.rows_of(key) == 12
    assert import_env.ledger(key)["attempts"] == 1


def test_schedule_sweeps_never_imported_and_failed_files_only(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    import_env.put("imports/done.json", metric_records(5))
    assert import_env.run("imports/done.json").success
    import_env.put("imports/bad.json", b"not json")
    assert not import_env.run("imports/bad.json").success
    failed_etag = import_env.put("imports/failed.json", metric_records(5))
    conn = psycopg2.connect(import_env.dsn)
    with conn:
        record_failure(
            conn,
            ImportTables(import_env.schema),
            FileVersion(import_env.bucket, "imports/failed.json", failed_etag, 10),
            "imports/failed.json: import failed after 4 attempts, no rows written (OperationalError)",
            run_id="earlier-run",
        )
    conn.close()
    import_env.put("imports/missed.json", metric_records(5))
    later = datetime.now(UTC) + timedelta(hours=1)

    sweep = _sweep(import_env, daemon_instance, later)

    assert sorted(r.partition_key for r in sweep.run_requests) == [
        "imports/failed.json",
        "imports/missed.json",
    ]
    assert all(r.run_key.startswith("sweep:") and later.isoformat() in r.run_key for r in sweep.run_requests)
    partitions = set(daemon_instance.get_dynamic_partitions(metric_import_file_partitions.name))
    assert {"imports/failed.json", "imports/missed.json"} <= partitions

    for request in sweep.run_requests:
        assert import_env.run(request.partition_key).success
    assert not _sweep(import_env, daemon_instance, later + timedelta(hours=1)).run_requests


def test_schedule_leaves_fresh_files_to_the_sensor(import_env: ImportEnv, daemon_instance: DagsterInstance):
    import_env.put("imports/just-arrived.json", metric_records(2))

    sweep = _sweep(import_env, daemon_instance, datetime.now(UTC))

    assert not sweep.run_requests
    assert "1 younger than 15 min are left to import_sensor" in sweep.skip_message


def test_schedule_skips_a_file_whose_run_is_in_flight(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    import_env.put("imports/running.json", metric_records(2))
    import_env.put("imports/waiting.json", metric_records(2))
    job = _definitions(import_env).resolve_job_def(metric_import_job.name)
    daemon_instance.add_dynamic_partitions(metric_import_file_partitions.name, ["imports/running.json"])
    daemon_instance.create_run_for_job(
        job, status=DagsterRunStatus.STARTED, tags={"dagster/partition": "imports/running.json"}
    )

    sweep = _sweep(import_env, daemon_instance, datetime.now(UTC) + timedelta(hours=1))

    assert [r.partition_key for r in sweep.run_requests] == ["imports/waiting.json"]
