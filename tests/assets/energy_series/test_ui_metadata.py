"""What the UI keeps of an `energy_series` materialization: check results per partition, table metadata."""

from datetime import date

from dagster import AssetCheckKey, AssetKey, MultiPartitionKey

from assets.energy_series.checks import CHECK_SPECS
from deploy.local.sources.energy_files import energy_key, energy_parquet
from tests.assets.energy_series.sandbox import SeriesEnv

DAY = date(2026, 3, 2)


def test_check_results_are_recorded_for_the_materialized_partition(series_env: SeriesEnv):
    series_env.put(energy_key("consumption", DAY), energy_parquet("consumption", DAY, 48))
    assert series_env.run("consumption", DAY).success

    partition = MultiPartitionKey({"dataset": "consumption", "date": DAY.isoformat()})
    storage = series_env.instance.event_log_storage
    for spec in CHECK_SPECS:
        records = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("energy_series"), spec.name), limit=5
        )
        assert [r.partition for r in records] == [partition], spec.name
        assert records[0].event.dagster_event.asset_check_evaluation_data.partition == partition
