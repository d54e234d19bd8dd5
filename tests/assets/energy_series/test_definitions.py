"""What the UI shows of `energy_series` before any run: pool, partition-aware checks, freshness."""

from dagster import AssetKey

from assets.energy_series import energy_series
from assets.partitions import energy_series_partitions
from assets.pools import INFLUXDB_POOL
from ecom_pipeline.definitions import defs


def _node():
    return defs.get_repository_def().asset_graph.get(AssetKey("energy_series"))


def test_energy_series_writes_in_the_influxdb_pool() -> None:
    assert _node().pools == {INFLUXDB_POOL}


def test_every_check_spec_is_partitioned_like_the_asset() -> None:
    assert len(energy_series.check_specs) == 3
    for spec in energy_series.check_specs:
        assert spec.partitions_def == energy_series.partitions_def == energy_series_partitions, spec.key
    policy = energy_series.backfill_policy
    assert policy is None or policy.max_partitions_per_run == 1
