"""Over the whole code location: checks are partitioned like their assets, and each asset's pool is pinned.

A check spec without the asset's `partitions_def` records its results on no partition, so a partition's page
cannot show its own checks (and a range run's results collapse into one). Pools are pinned per asset: a step
that writes a backend a wide backfill could overload declares that backend's pool (assets/pools.py).
"""

import pytest
from dagster import AssetKey

from assets.pools import (
    INFLUXDB_POOL,
    METRICS_DB_POOL,
    POOLS,
    PRODUCTS_DB_POOL,
    SOURCE_API_POOL,
    SOURCE_DB_POOL,
)
from ecom_pipeline.definitions import defs
from tests.test_definitions import BRONZE_ENTITIES

GRAPH = defs.get_repository_def().asset_graph
CHECK_KEYS = sorted(GRAPH.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))

# The pool of every asset of the code location; None: the step takes no pool.
API_ENTITIES = ("payments", "shipments")
EXPECTED_POOLS = {
    **{
        f"bronze_{entity}": SOURCE_API_POOL if entity in API_ENTITIES else SOURCE_DB_POOL
        for entity in BRONZE_ENTITIES
    },
    "energy_series": INFLUXDB_POOL,
    "product_upload_records": None,  # writes DynamoDB; its PostgreSQL work is a few upload_history statements
    "validated_products": PRODUCTS_DB_POOL,
    "imported_metrics": METRICS_DB_POOL,
}


@pytest.mark.parametrize("check_key", CHECK_KEYS, ids=lambda k: f"{k.asset_key.to_user_string()}:{k.name}")
def test_every_check_is_partitioned_like_its_asset(check_key) -> None:
    asset_partitions = GRAPH.get(check_key.asset_key).partitions_def
    check_partitions = GRAPH.get(check_key).partitions_def
    assert check_partitions == asset_partitions, (
        f"{check_key.asset_key.to_user_string()}:{check_key.name} is declared with "
        f"{check_partitions!r}, its asset with {asset_partitions!r}"
    )


def test_the_pool_inventory_covers_every_asset() -> None:
    materializable = {
        key.to_user_string() for key in GRAPH.get_all_asset_keys() if GRAPH.get(key).is_materializable
    }
    assert materializable == set(EXPECTED_POOLS)
    assert {pool for pool in EXPECTED_POOLS.values() if pool} == set(POOLS)


@pytest.mark.parametrize("asset", sorted(EXPECTED_POOLS))
def test_each_asset_declares_its_pool(asset: str) -> None:
    expected = EXPECTED_POOLS[asset]
    assert GRAPH.get(AssetKey(asset)).pools == ({expected} if expected else set())
