"""`metric_imports_sensor` and `metric_imports_sweep_schedule` against the stack's S3 and PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from assets.metric_imports import metric_imports_job
from assets.partitions import metric_import_file_partitions, partition_range_of, partition_range_tags
from ecom_pipeline.sensor_cursors import PrefixScanCursor
from sensors.metric_imports import (
    ETAG_TAG,
    FILE_COUNT_TAG,
    metric_imports_sensor,
    metric_imports_sweep_schedule,
)
from tests.assets.metric_imports.sandbox import (  # noqa: F401
    ImportEnv,
    import_env_fixture,
    metric_records,
    pipeline_definitions,
    source_schema,
)


@pytest.fixture
def daemon_instance() -> Iterator[DagsterInstance]:
    """A persistent (temp dir) instance as the daemon has: sensors resolve dynamic partitions through its
    ref. Runs in these tests go to the ephemeral instance of `import_env`, which is faster."""
    with instance_for_test() as instance:
        yield instance


def _tick(env: ImportEnv, instance: DagsterInstance, cursor: str | None):
    defs = pipeline_definitions(env.config)
    with build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),  # without it Dagster cannot resolve dynamic partition keys
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,
    ) as context:
        return metric_imports_sensor.evaluate_tick(context)


def _sweep(env: ImportEnv, instance: DagsterInstance, at: datetime):
    defs = pipeline_definitions(env.config)
    with build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        repository_def=defs.get_repository_def(),
        resources=defs.resources,
    ) as context:
        return metric_imports_sweep_schedule.evaluate_tick(context)


def test_sensor_batches_new_files_into_one_range_run_and_a_changed_file_into_its_own(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    etags = {key: import_env.put(key, metric_records(3)) for key in ("imports/a.json", "imports/2026/b.json")}
    import_env.put("imports/folder/", b"")  # a console-made folder marker
    import_env.put("elsewhere/c.json", metric_records(3))

    first = _tick(import_env, daemon_instance, None)

    (add,) = first.dynamic_partitions_requests
    assert add.partitions_def_name == metric_import_file_partitions.name
    assert sorted(add.partition_keys) == ["imports/2026/b.json", "imports/a.json"]
    (batch,) = first.run_requests
    assert batch.partition_key is None and batch.tags[FILE_COUNT_TAG] == "2"
    assert partition_range_of(batch.tags) == (
        add.partition_keys[0],
        add.partition_keys[-1],
    )
    first_key = add.partition_keys[0]
    assert batch.run_key.startswith(f"{first_key}@{etags[first_key]}+1:")

    quiet = _tick(import_env, daemon_instance, first.cursor)
    assert not quiet.run_requests and "no new files" in quiet.skip_message

    daemon_instance.add_dynamic_partitions(metric_import_file_partitions.name, list(add.partition_keys))
    new_etag = import_env.put("imports/a.json", metric_records(4))
    changed = _tick(import_env, daemon_instance, quiet.cursor or first.cursor)
    assert [(r.partition_key, r.run_key, r.tags[ETAG_TAG]) for r in changed.run_requests] == [
        ("imports/a.json", f"imports/a.json@{new_etag}", new_etag)
    ]
    assert not changed.dynamic_partitions_requests[0].partition_keys


def test_a_batch_run_imports_every_file_of_its_range(import_env: ImportEnv, daemon_instance: DagsterInstance):
    keys = [f"imports/batch/{i:02d}.json" for i in range(5)]
    for i, key in enumerate(keys):
        import_env.put(key, metric_records(10 + i))
    (batch,) = _tick(import_env, daemon_instance, None).run_requests
    (add,) = _tick(import_env, daemon_instance, None).dynamic_partitions_requests
    import_env.instance.add_dynamic_partitions(metric_import_file_partitions.name, list(add.partition_keys))
    job = pipeline_definitions(import_env.config).resolve_job_def(metric_imports_job.name)

    result = job.execute_in_process(instance=import_env.instance, tags=batch.tags)

    assert result.success
    materialized = {
        e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert sorted(materialized) == keys
    assert [materialized[k]["rows_imported"].value for k in keys] == [10, 11, 12, 13, 14]
    assert all(materialized[k]["files_in_run"].value == 5 for k in keys)
    assert [import_env.rows_of(k) for k in keys] == [10, 11, 12, 13, 14]
    evaluations = result.get_asset_check_evaluations()
    assert all(e.passed for e in evaluations)
    row_counts = {e.partition: e for e in evaluations if e.check_name == "row_count_matches_file"}
    assert sorted(row_counts) == keys  # one result per file, on its partition
    assert [row_counts[k].metadata["rows_in_table"].value for k in keys] == [10, 11, 12, 13, 14]


def test_batches_respect_the_file_and_byte_limits(import_env: ImportEnv, daemon_instance: DagsterInstance):
    for i in range(7):
        import_env.put(f"imports/many/{i}.json", metric_records(2))

    with patch("sensors.metric_imports.METRIC_IMPORT_FILES_PER_RUN", 3):
        requests = _tick(import_env, daemon_instance, None).run_requests

    assert [r.tags.get(FILE_COUNT_TAG, "1") for r in requests] == ["3", "3", "1"]
    assert requests[-1].partition_key is not None  # a batch of one is a plain single-partition run


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


def _record_failure(env: ImportEnv, key: str, etag: str) -> None:
    env.record_failure(
        key, etag, f"{key}: import failed after 4 attempts, no rows written (OperationalError)"
    )


def _cursor_past_everything(at: datetime) -> str:
    """A sensor whose fast path has passed every key and whose reconciliation window starts at `at`."""
    return PrefixScanCursor(
        after={"imports/": "imports/~"}, sweep_started=at, sweep_since=at, passes=3
    ).to_json()


def test_schedule_sweeps_failed_files_and_the_sensor_reconciles_never_imported_ones(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    import_env.put("imports/done.json", metric_records(5))
    assert import_env.run("imports/done.json").success
    import_env.put("imports/bad.json", b"not json")
    assert not import_env.run("imports/bad.json").success
    failed_etag = import_env.put("imports/failed.json", metric_records(5))
    import_env.record_failure(
        "imports/failed.json",
        failed_etag,
        "imports/failed.json: import failed after 4 attempts, no rows written (OperationalError)",
    )
    missed_etag = import_env.put("imports/missed.json", metric_records(5))
    later = datetime.now(UTC) + timedelta(hours=1)

    sweep = _sweep(import_env, daemon_instance, later)

    # The sweep retries the failed file (its backoff of 60 min has passed); the never-imported one is the
    # sensor's: its reconciliation page finds the file without a ledger row, though the fast path passed it.
    assert [r.partition_key for r in sweep.run_requests] == ["imports/failed.json"]
    assert all(r.run_key.startswith("sweep:") and later.isoformat() in r.run_key for r in sweep.run_requests)
    reconciled = _tick(import_env, daemon_instance, _cursor_past_everything(later))
    assert [r.partition_key for r in reconciled.run_requests] == ["imports/missed.json"]
    (request,) = reconciled.run_requests
    assert request.run_key.startswith("reconcile:") and request.run_key.endswith(
        f"imports/missed.json@{missed_etag}"
    )
    assert list(reconciled.dynamic_partitions_requests[0].partition_keys) == ["imports/missed.json"]
    daemon_instance.add_dynamic_partitions(metric_import_file_partitions.name, ["imports/missed.json"])
    partitions = set(daemon_instance.get_dynamic_partitions(metric_import_file_partitions.name))
    assert {"imports/failed.json", "imports/missed.json"} <= partitions

    for request in [*sweep.run_requests, *reconciled.run_requests]:
        assert import_env.run(request.partition_key).success
    assert not _sweep(import_env, daemon_instance, later + timedelta(hours=1)).run_requests
    assert not _tick(import_env, daemon_instance, _cursor_past_everything(later)).run_requests


def test_schedule_leaves_fresh_files_to_the_sensor(import_env: ImportEnv, daemon_instance: DagsterInstance):
    import_env.put("imports/just-arrived.json", metric_records(2))

    sweep = _sweep(import_env, daemon_instance, datetime.now(UTC))

    assert not sweep.run_requests
    assert "no failed import due for a retry" in sweep.skip_message


def test_schedule_backs_off_and_gives_up_after_the_limit(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    etag = import_env.put("imports/flaky.json", metric_records(2))
    _record_failure(import_env, "imports/flaky.json", etag)
    now = datetime.now(UTC)
    assert not _sweep(import_env, daemon_instance, now + timedelta(minutes=30)).run_requests  # backing off
    assert [
        r.partition_key for r in _sweep(import_env, daemon_instance, now + timedelta(minutes=61)).run_requests
    ] == ["imports/flaky.json"]
    for _ in range(4):  # attempts 2..5 of 5
        _record_failure(import_env, "imports/flaky.json", etag)
    assert import_env.ledger("imports/flaky.json")["attempts"] == 5
    given_up = _sweep(import_env, daemon_instance, now + timedelta(days=365))
    assert not given_up.run_requests and "given up after 5 attempts" in given_up.skip_message


def test_schedule_skips_a_file_whose_run_is_in_flight(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    for key in ("imports/running.json", "imports/waiting.json"):
        _record_failure(import_env, key, import_env.put(key, metric_records(2)))
    job = pipeline_definitions(import_env.config).resolve_job_def(metric_imports_job.name)
    daemon_instance.add_dynamic_partitions(metric_import_file_partitions.name, ["imports/running.json"])
    daemon_instance.create_run_for_job(
        job, status=DagsterRunStatus.STARTED, tags={"dagster/partition": "imports/running.json"}
    )

    sweep = _sweep(import_env, daemon_instance, datetime.now(UTC) + timedelta(hours=1))

    assert [r.partition_key for r in sweep.run_requests] == ["imports/waiting.json"]


def test_schedule_skips_files_of_a_batch_run_in_flight(
    import_env: ImportEnv, daemon_instance: DagsterInstance
):
    keys = ["imports/in-batch/a.json", "imports/in-batch/b.json", "imports/in-batch/c.json"]
    for key in [*keys, "imports/after.json"]:
        _record_failure(import_env, key, import_env.put(key, metric_records(2)))
    job = pipeline_definitions(import_env.config).resolve_job_def(metric_imports_job.name)
    daemon_instance.add_dynamic_partitions(metric_import_file_partitions.name, keys)
    daemon_instance.create_run_for_job(
        job,
        status=DagsterRunStatus.STARTED,
        tags=partition_range_tags(keys[0], keys[-1]),
    )

    sweep = _sweep(import_env, daemon_instance, datetime.now(UTC) + timedelta(hours=1))

    assert [r.partition_key for r in sweep.run_requests] == ["imports/after.json"]
