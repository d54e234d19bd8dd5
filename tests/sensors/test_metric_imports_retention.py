"""The sweep's retention of file partitions, against the stack's S3, PostgreSQL and a Dagster instance."""

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetCheckKey,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from assets.metric_imports.assets import imported_metrics
from assets.partitions import metric_import_file_partitions
from ecom_pipeline.sensor_cursors import PrefixScanCursor
from resources.metric_imports.config import MetricImportsConfig
from sensors.metric_imports import metric_imports_sensor, metric_imports_sweep_schedule
from tests.assets.metric_imports.sandbox import (  # noqa: F401
    ImportEnv,
    import_env_fixture,
    metric_records,
    pipeline_definitions,
    source_schema,
)

PARTITIONS = metric_import_file_partitions.name


@pytest.fixture
def env(import_env: ImportEnv) -> Iterator[ImportEnv]:
    """The test's slice of the stack on a persistent (temp dir) instance, as the daemon's: the schedule's
    context needs its ref, and the runs and the sweep must meet the same partitions."""
    with instance_for_test() as instance:
        yield dataclasses.replace(import_env, instance=instance)


def _sweep(env: ImportEnv, config: MetricImportsConfig | None = None, at: datetime | None = None):
    """One sweep on the instance the test's runs use, so pruning and re-imports meet the same partitions."""
    defs = pipeline_definitions(config or env.config)
    with build_schedule_context(
        instance=env.instance,
        scheduled_execution_time=at or datetime.now(UTC),
        repository_def=defs.get_repository_def(),
        resources=defs.resources,
    ) as context:
        return metric_imports_sweep_schedule.evaluate_tick(context)


def _age(env: ImportEnv, key: str, days: float) -> None:
    """Pretend the file's last import run was `days` ago."""
    env.query(
        "UPDATE {schema}.metric_import_files SET last_attempt_at = now() - make_interval(days => %s) "
        "WHERE file_key = %s RETURNING 1",
        [days, key],
    )


def _partitions(env: ImportEnv) -> set[str]:
    return set(env.instance.get_dynamic_partitions(PARTITIONS))


def test_sweep_deletes_partitions_of_imported_files_past_the_retention_only(env: ImportEnv):
    for key in ("imports/old.json", "imports/recent.json"):
        env.put(key, metric_records(5))
        assert env.run(key).success
    env.put("imports/bad.json", b"not json")
    assert not env.run("imports/bad.json").success
    etag = env.put("imports/failed.json", metric_records(5))
    env.record_failure("imports/failed.json", etag, "imports/failed.json: import failed (test)")
    env.instance.add_dynamic_partitions(PARTITIONS, ["imports/failed.json"])
    for key in ("imports/old.json", "imports/bad.json", "imports/failed.json"):
        _age(env, key, 20)
    _age(env, "imports/recent.json", 5)  # within the 7 days

    _sweep(env)

    assert _partitions(env) == {"imports/recent.json", "imports/bad.json", "imports/failed.json"}
    old = env.ledger("imports/old.json")
    assert old["status"] == "imported" and old["partition_pruned_at"] is not None
    assert env.ledger("imports/recent.json")["partition_pruned_at"] is None
    assert env.rows_of("imports/old.json") == 5  # the data and the ledger stay
    # The event log keeps the pruned file's materialization.
    latest = env.instance.get_latest_materialization_event(imported_metrics.key)
    assert latest is not None
    assert "imports/old.json" in env.instance.get_materialized_partitions(imported_metrics.key)
    # ... and its check results, on the partition that is gone.
    history = env.instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(imported_metrics.key, "row_count_matches_file"), limit=10
    )
    assert any(r.partition == "imports/old.json" and r.status.value == "SUCCEEDED" for r in history)
    # Nothing more is due: the next sweep deletes nothing.
    _sweep(env)
    assert "imports/recent.json" in _partitions(env)


def test_sweep_deletes_at_most_a_batch_per_tick_oldest_first(env: ImportEnv):
    keys = [f"imports/batch/{i}.json" for i in range(5)]
    for key in keys:
        env.put(key, metric_records(2))
    assert env.run_range(keys).success
    for i, key in enumerate(keys):
        _age(env, key, 30 - i)  # keys[0] is the oldest
    config = MetricImportsConfig(
        bucket=env.bucket,
        dlq_url=env.dlq_url,
        notifications_topic_arn=env.topic_arn,
        db_schema=env.schema,
        partition_prune_batch=2,
    )

    remaining = []
    for _ in range(3):
        _sweep(env, config)
        remaining.append(sorted(_partitions(env)))

    assert remaining == [keys[2:], keys[4:], []]


def test_a_pruned_file_can_be_materialized_again_and_keeps_its_partition(env: ImportEnv):
    key = "imports/pruned.json"
    env.put(key, metric_records(4))
    assert env.run(key).success
    _age(env, key, 20)
    _sweep(env)
    assert key not in _partitions(env)

    # "Add partition" on the asset's partitions page, then "Materialize" on it.
    env.instance.add_dynamic_partitions(PARTITIONS, [key])
    again = env.run(key)

    assert again.success
    (event,) = again.get_asset_materialization_events()
    assert event.partition == key
    assert event.materialization.metadata["status"].value == "already_imported"  # same version: no rewrite
    entry = env.ledger(key)
    assert entry["partition_pruned_at"] is None  # the run restarted the retention
    assert entry["last_attempt_at"] > datetime.now(UTC) - timedelta(minutes=5)
    _sweep(env)
    assert key in _partitions(env)


def test_a_pruned_file_whose_ledger_row_is_reset_is_reimported_by_the_sensor(env: ImportEnv):
    key = "imports/reset.json"
    etag = env.put(key, metric_records(3))
    assert env.run(key).success
    _age(env, key, 20)
    _sweep(env)
    assert key not in _partitions(env)
    env.query("DELETE FROM {schema}.metric_import_files WHERE file_key = %s RETURNING 1", [key])

    # The sensor's reconciliation finds the file without a ledger row and gives it its partition back.
    at = datetime.now(UTC)
    cursor = PrefixScanCursor(after={"imports/": "imports/~"}, sweep_started=at, sweep_since=at, passes=3)
    tick = _tick(env, cursor.to_json())
    (request,) = tick.run_requests
    assert request.partition_key == key and request.run_key.endswith(f"{key}@{etag}")
    assert list(tick.dynamic_partitions_requests[0].partition_keys) == [key]
    rerun = env.run(key)  # the run the daemon launches, after adding the requested partition

    assert rerun.success
    (event,) = rerun.get_asset_materialization_events()
    assert event.materialization.metadata["status"].value == "imported"
    assert env.rows_of(key) == 3  # the earlier rows replaced, not doubled
    assert env.ledger(key)["partition_pruned_at"] is None


def _tick(env: ImportEnv, cursor: str):
    defs = pipeline_definitions(env.config)
    with build_sensor_context(
        instance=env.instance,
        instance_ref=env.instance.get_ref(),
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,
    ) as context:
        return metric_imports_sensor.evaluate_tick(context)
