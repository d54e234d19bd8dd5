"""The code location loads and carries every asset, partitioning, trigger and check the README promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    define_asset_job,
)

from ecom_pipeline.definitions import (
    STEP_EXECUTOR_ENV,
    build_definitions,
    defs,
    pipeline_definitions,
    step_executor,
)

BRONZE_ENTITIES = (
    "customers",
    "vendors",
    "products",
    "orders",
    "order_items",
    "upload_history",
    "metrics",
    "payments",
    "shipments",
)


def _asset_graph():
    return defs.get_repository_def().asset_graph


def test_expected_assets_and_partitions() -> None:
    graph = _asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    expected = {f"bronze_{e}" for e in BRONZE_ENTITIES} | {
        "product_upload_records",
        "validated_products",
        "energy_series",
        "imported_metrics",
    }
    assert expected <= keys, f"missing: {sorted(expected - keys)}"

    def partitions(name: str):
        return graph.get(AssetKey(name)).partitions_def

    for entity in BRONZE_ENTITIES:
        assert isinstance(partitions(f"bronze_{entity}"), DailyPartitionsDefinition)
    assert isinstance(partitions("product_upload_records"), DynamicPartitionsDefinition)
    assert partitions("product_upload_records").name == "product_uploads"
    assert isinstance(partitions("energy_series"), MultiPartitionsDefinition)
    assert {d.name for d in partitions("energy_series").partitions_defs} == {"dataset", "date"}
    assert isinstance(partitions("imported_metrics"), DynamicPartitionsDefinition)


PIPELINES = ("bronze", "product_uploads", "energy_series", "metric_imports")

# The full inventory the UI shows. A change here is a rename or an addition someone meant to make.
# One job per pipeline: the `*_on_lambda` twins went when ECOM_STEP_EXECUTOR started picking the executor.
EXPECTED_JOBS = {f"{p}_job" for p in PIPELINES}
EXPECTED_SENSORS = {"product_uploads_sensor", "energy_series_sensor", "metric_imports_sensor"}
EXPECTED_SCHEDULES = {"bronze_daily_schedule", "metric_imports_sweep_schedule"}
BRONZE_CHECKS = (
    "metadata_columns_not_null",
    "primary_key_unique",
    "row_count_matches_extracted",
    "schema_matches_previous_partition",
)
EXPECTED_CHECKS = {f"bronze_{e}:{c}" for e in BRONZE_ENTITIES for c in BRONZE_CHECKS} | {
    "product_upload_records:all_rows_staged",
    "validated_products:every_row_accounted_for",
    "validated_products:no_duplicate_sku_per_vendor",
    "validated_products:error_rate_below_threshold",
    "energy_series:points_written_match_server",
    "energy_series:timestamps_within_partition_day",
    "energy_series:dropped_rows_rate",
    "imported_metrics:row_count_matches_file",
    "imported_metrics:no_duplicate_name_timestamp",
}
SHARED_RESOURCES = {"secrets", "rds", "dynamodb", "sqs", "sns", "cloudwatch", "influxdb"}


def test_full_inventory_of_jobs_triggers_and_checks() -> None:
    repo = defs.get_repository_def()
    assert {job.name for job in repo.get_all_jobs()} - {"__ASSET_JOB"} == EXPECTED_JOBS
    assert {s.name for s in repo.sensor_defs} == EXPECTED_SENSORS
    assert {s.name for s in repo.schedule_defs} == EXPECTED_SCHEDULES
    checks = {f"{key.asset_key.to_user_string()}:{key.name}" for key in _asset_graph().asset_check_keys}
    assert checks == EXPECTED_CHECKS


def test_every_name_starts_with_its_pipeline() -> None:
    """One name per pipeline: the asset group, and the prefix of its jobs, triggers and own resources."""
    repo = defs.get_repository_def()
    graph = _asset_graph()
    groups = {
        graph.get(key).group_name for key in graph.get_all_asset_keys() if graph.get(key).is_materializable
    }
    assert groups == set(PIPELINES)
    for name in {s.name for s in repo.sensor_defs} | {s.name for s in repo.schedule_defs}:
        assert name.startswith(PIPELINES), name
    for key in set(defs.resources) - SHARED_RESOURCES:
        assert key.startswith(PIPELINES), f"resource key {key!r} names no pipeline"


def test_every_pipeline_asset_has_checks() -> None:
    graph = _asset_graph()
    checked = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    for name in [f"bronze_{e}" for e in BRONZE_ENTITIES] + [
        "product_upload_records",
        "validated_products",
        "energy_series",
        "imported_metrics",
    ]:
        assert name in checked, f"{name} has no asset check"


def test_the_code_location_loads_as_dagster_loads_it() -> None:
    """`dagster definitions validate` (what the webserver and daemon do) accepts the module."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [Path(sys.executable).with_name("dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_each_pipeline_contributes_only_its_own_names() -> None:
    resources = Definitions(resources=defs.resources)
    for pipeline, definitions in pipeline_definitions().items():
        repo = Definitions.merge(definitions, resources).get_repository_def()
        names = [job.name for job in repo.get_all_jobs() if job.name != "__ASSET_JOB"]
        names += [s.name for s in repo.sensor_defs] + [s.name for s in repo.schedule_defs]
        assert names and all(name.startswith(pipeline) for name in names), (pipeline, names)


def _executors(definitions: Definitions) -> dict[str, str]:
    """Executor name of every job, the implicit asset job (UI backfills from an asset's page) included."""
    repo = definitions.get_repository_def()
    return {job.name: job.executor_def.name for job in repo.get_all_jobs()}


def test_the_default_executor_is_multiprocess() -> None:
    assert step_executor({}).name == "multiprocess"
    assert set(_executors(defs).values()) == {"multiprocess"}, _executors(defs)


def test_ecom_step_executor_lambda_puts_every_job_and_asset_backfill_on_lambda() -> None:
    executors = _executors(build_definitions(step_executor({STEP_EXECUTOR_ENV: "lambda"})))
    assert {f"{p}_job" for p in PIPELINES} | {"__ASSET_JOB"} <= set(executors)
    assert set(executors.values()) == {"lambda"}, executors


def test_a_backfill_of_any_asset_selection_gets_the_definitions_executor() -> None:
    """A backfill launched from an asset's partitions page runs a job Dagster builds for that selection
    (jobless); it must inherit the Definitions executor, as the implicit asset job does."""
    on_lambda = build_definitions(step_executor({STEP_EXECUTOR_ENV: "lambda"}))
    repo = on_lambda.get_repository_def()
    for key in (AssetKey("bronze_orders"), AssetKey("imported_metrics"), AssetKey("validated_products")):
        job = repo.get_implicit_job_def_for_assets([key])
        assert job is not None and job.executor_def.name == "lambda", key
        subset = job.get_subset(asset_selection={key})
        assert subset.executor_def.name == "lambda", key
    adhoc = define_asset_job("adhoc", selection=AssetSelection.assets("energy_series"))
    merged = Definitions.merge(on_lambda, Definitions(jobs=[adhoc])).get_repository_def()
    assert merged.get_job("adhoc").executor_def.name == "lambda"


def test_an_unknown_step_executor_stops_the_code_location_loading() -> None:
    with pytest.raises(ValueError, match=r"ECOM_STEP_EXECUTOR='ecs' names no executor; use one of: "):
        step_executor({STEP_EXECUTOR_ENV: "ecs"})


def test_dagster_loads_the_lambda_code_location_from_the_environment() -> None:
    """What the daemon and webserver do with ECOM_STEP_EXECUTOR=lambda (set by the CDK app)."""
    root = Path(__file__).resolve().parents[1]
    script = (
        "from ecom_pipeline.definitions import defs\n"
        "repo = defs.get_repository_def()\n"
        "print(sorted({j.executor_def.name for j in repo.get_all_jobs()}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, STEP_EXECUTOR_ENV: "lambda"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "['lambda']"
