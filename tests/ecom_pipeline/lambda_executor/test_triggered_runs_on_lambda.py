"""With ECOM_STEP_EXECUTOR=lambda, every sensor and schedule of the four pipelines launches runs whose steps run
as invocations of the size-class step functions through the local Lambda API (moto, local worker processes).

Each trigger is evaluated from the code location's own definitions with a test's private resources (bucket,
schema, table, namespace), and its run requests are launched the way the daemon's run worker launches them:
the job reconstructed from the code location by name, on the stack's PostgreSQL instance, with run config that
points the configurable (not secret-bearing) resource fields at the test's slice. A UI backfill of an asset's
partition range (a run of the implicit asset job) is launched the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    RunRequest,
    execute_job,
)
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.execution_result import ExecutionResult

from assets.partitions import metric_import_file_partitions, partition_range_of, partition_range_tags
from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.demos.base import RUN_KEY_TAG, DemoContext
from deploy.local.lambda_functions import ensure_step_functions
from deploy.local.sources.energy_files import energy_key, energy_parquet
from deploy.local.sources.vendor_files import upload_key, vendor_csv
from ecom_pipeline.definitions import pipeline_definitions
from ecom_pipeline.lambda_executor import lambda_executor, markers
from resources import build_resources
from resources.bronze.checkpoints import CheckpointStoreResource
from resources.bronze.lake import BronzeLakeResource
from resources.energy_series.config import EnergySeriesConfig
from resources.influxdb import InfluxDBResource
from tests.assets.metric_imports.sandbox import (  # noqa: F401 (fixtures)
    ImportEnv,
    import_env_fixture,
    metric_records,
    source_schema,
)
from tests.assets.product_uploads.sandbox import UploadsEnv, uploads_env_fixture  # noqa: F401 (fixture)
from tests.ecom_pipeline.lambda_executor import lambda_code_location

REPO_ROOT = Path(__file__).resolve().parents[3]
# Fast polling; a generous start timeout: a cold size-class function imports the whole code location.
EXECUTION = {
    "execution": {
        "config": {
            "poll_interval_seconds": 0.1,
            "health_check_interval_seconds": 1,
            "step_start_timeout_seconds": 150.0,
        }
    }
}


@pytest.fixture(scope="module")
def size_functions(stack_env: dict[str, str]) -> set[str]:
    """The deployed-like functions (one per size class), refreshed so their workers run this code."""
    return set(ensure_step_functions())


def _definitions(pipeline: str, resources: dict[str, Any]) -> Definitions:
    """The pipeline's sensors and schedules as the lambda code location has them, on the test's resources."""
    return Definitions.merge(
        pipeline_definitions()[pipeline],
        Definitions(resources=build_resources() | resources, executor=lambda_executor),
    )


def _launch(
    instance: DagsterInstance, request: RunRequest, resource_config: dict[str, dict], asset: str | None = None
) -> ExecutionResult:
    """Launch a run request as the daemon's run worker does; `asset` launches the implicit asset job for that
    asset instead (what a backfill from the asset's partitions page runs)."""
    repository = ReconstructableRepository.for_module(
        lambda_code_location.__name__, "defs", working_directory=str(REPO_ROOT)
    )
    if asset is None:
        job = repository.get_reconstructable_job(request.job_name)
    else:
        job = repository.get_reconstructable_job("__ASSET_JOB").get_subset(asset_selection={AssetKey(asset)})
    tags = dict(request.tags or {})
    if request.partition_key is not None:
        tags["dagster/partition"] = str(request.partition_key)
    if request.run_key:
        tags[RUN_KEY_TAG] = request.run_key
    run_config = {
        **EXECUTION,
        "resources": {key: {"config": config} for key, config in resource_config.items()},
    }
    return execute_job(job, instance=instance, run_config=run_config, tags=tags, raise_on_error=False)


def _assert_steps_ran_in_lambda(
    instance: DagsterInstance, result: ExecutionResult, functions: set[str]
) -> dict[str, str]:
    """Every step that succeeded ran in an invocation of a size-class function; returns step -> request id."""
    run_id = result.run_id
    failures = [
        e.dagster_event.event_specific_data.error.to_string()
        for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    ]
    assert result.success, failures
    assert result.dagster_run.tags.get("dagster/partition") or partition_range_of(result.dagster_run.tags)
    succeeded = {e.step_key for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_SUCCESS)}
    started: dict[str, str] = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        metadata = {k: v.value for k, v in entry.dagster_event.engine_event_data.metadata.items()}
        if metadata.get(markers.MARKER_KEY) == markers.STARTED:
            assert metadata[markers.FUNCTION_KEY] in functions, metadata[markers.FUNCTION_KEY]
            started[entry.step_key] = str(metadata[markers.REQUEST_ID_KEY])
    assert succeeded and set(started) == succeeded, (succeeded, started)
    assert len(set(started.values())) == len(started), "two steps reported the same Lambda request id"
    worker_pids = {
        e.dagster_event.event_specific_data.metadata["pid"].value
        for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_WORKER_STARTED)
    }
    assert worker_pids and str(os.getpid()) not in worker_pids
    return started


def _metric_config(env: ImportEnv) -> dict[str, dict]:
    config = env.config
    return {
        "metric_imports_config": {
            "bucket": config.bucket,
            "dlq_url": config.dlq_url,
            "notifications_topic_arn": config.notifications_topic_arn,
            "db_schema": config.db_schema,
            "cloudwatch_namespace": config.cloudwatch_namespace,
            "environment": config.environment,
        }
    }


def test_product_uploads_sensor_runs_both_steps_in_lambda(
    instance: DagsterInstance, size_functions: set[str], uploads_env: UploadsEnv
) -> None:
    env = uploads_env
    key = upload_key("VEND001", datetime.now(UTC))
    upload = env.put(key, vendor_csv("VEND001", 12))
    defs = _definitions("product_uploads", env.resources)
    (request,) = DemoContext(instance, defs, log=lambda _: None).evaluate_sensor("product_uploads_sensor")
    assert request.partition_key == upload.upload_id
    result = _launch(
        instance,
        request,
        {
            "product_uploads_config": {
                "uploads_bucket": env.bucket,
                "errors_queue_url": env.errors_queue_url,
                "notifications_topic_arn": env.topic_arn,
                "db_schema": env.schema,
            },
            "product_uploads_records": {"table_name": env.table},
        },
    )
    steps = _assert_steps_ran_in_lambda(instance, result, size_functions)
    assert set(steps) == {"product_upload_records", "validated_products"}
    assert env.history(upload.upload_id)["status"] == "completed"
    assert len(env.items(upload.upload_id)) == 12


def test_metric_imports_sensor_batch_is_one_ranged_run_in_lambda(
    instance: DagsterInstance, size_functions: set[str], import_env: ImportEnv
) -> None:
    folder = f"imports/lambda_{uuid.uuid4().hex[:8]}"
    keys = [f"{folder}/file_{n}.json" for n in range(3)]
    for n, key in enumerate(keys):
        import_env.put(key, metric_records(10 + n, name=f"lam{n}"))
    defs = _definitions("metric_imports", {"metric_imports_config": import_env.config})
    (request,) = DemoContext(instance, defs, log=lambda _: None).evaluate_sensor("metric_imports_sensor")
    assert partition_range_of(request.tags) == (keys[0], keys[-1])
    result = _launch(instance, request, _metric_config(import_env))
    assert set(_assert_steps_ran_in_lambda(instance, result, size_functions)) == {"imported_metrics"}
    assert [import_env.rows_of(key) for key in keys] == [10, 11, 12]
    assert len(result.get_asset_materialization_events()) == 3


def test_metric_imports_sweep_schedule_runs_in_lambda(
    instance: DagsterInstance, size_functions: set[str], import_env: ImportEnv
) -> None:
    key = f"imports/sweep_{uuid.uuid4().hex[:8]}.json"
    etag = import_env.put(key, metric_records(7, name="swept"))
    # The sweep retries files whose last import failed (the sensor reconciles never-imported ones).
    import_env.record_failure(key, etag, f"{key}: import failed (OperationalError)")
    defs = _definitions("metric_imports", {"metric_imports_config": import_env.config})
    context = DemoContext(instance, defs, log=lambda _: None)
    later = datetime.now(UTC) + timedelta(hours=1)  # past the sweep's settle time
    (request,) = context.evaluate_schedule("metric_imports_sweep_schedule", later)
    assert request.partition_key == key
    result = _launch(instance, request, _metric_config(import_env))
    assert set(_assert_steps_ran_in_lambda(instance, result, size_functions)) == {"imported_metrics"}
    assert import_env.rows_of(key) == 7


def test_ui_backfill_of_an_asset_partition_range_runs_in_lambda(
    instance: DagsterInstance, size_functions: set[str], import_env: ImportEnv
) -> None:
    """A backfill launched from the asset's partitions page is a run of the implicit asset job over a range."""
    keys = [f"imports/backfill_{uuid.uuid4().hex[:8]}_{n}.json" for n in range(2)]
    for key in keys:
        import_env.put(key, metric_records(5, name="backfilled"))
    instance.add_dynamic_partitions(metric_import_file_partitions.name, keys)
    request = RunRequest(tags=partition_range_tags(keys[0], keys[-1]))
    result = _launch(instance, request, _metric_config(import_env), asset="imported_metrics")
    assert result.dagster_run.job_name == "__ASSET_JOB"
    assert set(_assert_steps_ran_in_lambda(instance, result, size_functions)) == {"imported_metrics"}
    assert [import_env.rows_of(key) for key in keys] == [5, 5]


@pytest.fixture
def series_slice(stack_env: dict[str, str]) -> Iterator[dict[str, str]]:
    unique = uuid.uuid4().hex[:10]
    bucket = f"test-series-lambda-{unique}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    yield {"bucket": bucket, "influx_bucket": f"test_series_lambda_{unique}", "namespace": f"Test/{unique}"}
    delete_bucket(s3, bucket)


def test_energy_series_sensor_runs_in_lambda(
    instance: DagsterInstance, size_functions: set[str], series_slice: dict[str, str]
) -> None:
    day = date(2026, 3, 17)
    boto3.client("s3").put_object(
        Bucket=series_slice["bucket"],
        Key=energy_key("generation", day, 0),
        Body=energy_parquet("generation", day, 48),
    )
    config = {"bucket": series_slice["bucket"], "metrics_namespace": series_slice["namespace"]}
    # A resource's run config replaces its bound values: the deployment-only ones are repeated as they are.
    influx = {
        "url": {"env": "INFLUXDB_URL"},
        "org": {"env": "INFLUXDB_ORG"},
        "token_secret_name": {"env": "INFLUXDB_TOKEN_SECRET_NAME"},
        "bucket": series_slice["influx_bucket"],
    }
    defs = _definitions(
        "energy_series",
        {
            "energy_series_config": EnergySeriesConfig(**config),
            "influxdb": InfluxDBResource(
                url=os.environ["INFLUXDB_URL"],
                org=os.environ["INFLUXDB_ORG"],
                token=os.environ["INFLUXDB_TOKEN"],
                bucket=series_slice["influx_bucket"],
            ),
        },
    )
    (request,) = DemoContext(instance, defs, log=lambda _: None).evaluate_sensor("energy_series_sensor")
    assert str(request.partition_key) == f"generation|{day.isoformat()}"
    result = _launch(instance, request, {"energy_series_config": config, "influxdb": influx})
    assert set(_assert_steps_ran_in_lambda(instance, result, size_functions)) == {"energy_series"}
    (materialization,) = result.get_asset_materialization_events()
    assert materialization.materialization.metadata["points_written"].value == 48


@pytest.fixture
def bronze_slice(stack_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A lake prefix and a checkpoint table of this test's own (the source database is the seeded one)."""
    unique = uuid.uuid4().hex[:10]
    table = f"test-bronze-checkpoints-{unique}"
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "entity", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "entity", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    root = f"test-bronze-lambda/{unique}"
    yield {"table": table, "root": root}
    dynamodb.delete_table(TableName=table)
    s3 = boto3.client("s3")
    bucket = os.environ["LAKE_BUCKET"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def test_bronze_daily_schedule_runs_every_entity_in_lambda(
    instance: DagsterInstance, size_functions: set[str], bronze_slice: dict[str, str]
) -> None:
    lake = {"bucket": {"env": "LAKE_BUCKET"}, "root_prefix": bronze_slice["root"]}
    checkpoints = {"table_name": bronze_slice["table"]}
    defs = _definitions(
        "bronze",
        {
            "bronze_lake": BronzeLakeResource(
                bucket=os.environ["LAKE_BUCKET"], root_prefix=bronze_slice["root"]
            ),
            "bronze_checkpoints": CheckpointStoreResource(**checkpoints),
        },
    )
    scheduled = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    (request,) = DemoContext(instance, defs, log=lambda _: None).evaluate_schedule(
        "bronze_daily_schedule", scheduled
    )
    assert request.partition_key == (scheduled - timedelta(days=1)).date().isoformat()
    result = _launch(instance, request, {"bronze_lake": lake, "bronze_checkpoints": checkpoints})
    steps = _assert_steps_ran_in_lambda(instance, result, size_functions)
    assert len(steps) == 9 and all(step.startswith("bronze_") for step in steps)


def test_every_trigger_of_the_code_location_is_exercised_above() -> None:
    """A new sensor or schedule must get a Lambda run test here."""
    repo = lambda_code_location.defs.get_repository_def()
    triggers = {s.name for s in repo.sensor_defs} | {s.name for s in repo.schedule_defs}
    assert triggers == {
        "product_uploads_sensor",
        "metric_imports_sensor",
        "metric_imports_sweep_schedule",
        "energy_series_sensor",
        "bronze_daily_schedule",
    }
