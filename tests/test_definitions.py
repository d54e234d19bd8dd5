"""The code location loads and carries every asset, partitioning, trigger and check the README promises."""

from dagster import (
    AssetKey,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
)

from ecom_pipeline.definitions import defs

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


def test_triggers_and_jobs() -> None:
    repo = defs.get_repository_def()
    assert {"upload_sensor", "series_sensor", "import_sensor"} <= {s.name for s in repo.sensor_defs}
    assert {"bronze_daily_schedule", "metric_import_schedule"} <= {s.name for s in repo.schedule_defs}
    jobs = {job.name for job in repo.get_all_jobs()}
    assert {"bronze_job", "product_upload_job", "energy_series_job", "metric_import_job"} <= jobs
    assert any(name.endswith("_on_lambda") for name in jobs)


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
