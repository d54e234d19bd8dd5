"""What the UI shows of `energy_series` before any run: pool, partition-aware checks, freshness."""

from dagster import AssetKey

from assets.pools import INFLUXDB_POOL
from ecom_pipeline.definitions import defs


def _node():
    return defs.get_repository_def().asset_graph.get(AssetKey("energy_series"))


def test_energy_series_writes_in_the_influxdb_pool() -> None:
    assert _node().pools == {INFLUXDB_POOL}

