"""The code location loads and carries every asset, partitioning, trigger and check the README promises."""

import subprocess
import sys
from pathlib import Path

from dagster import (
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
)

from ecom_pipeline.definitions import defs, pipeline_definitions

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
EXPECTED_JOBS = {f"{p}_job" for p in PIPELINES} | {f"{p}_job_on_lambda" for p in PIPELINES}
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
