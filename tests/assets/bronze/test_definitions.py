"""What the UI shows of the bronze assets before any run: pools, partition-aware checks, freshness."""

from dagster import AssetKey

from assets.bronze import bronze_assets
from assets.pools import SOURCE_API_POOL, SOURCE_DB_POOL
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES
from ecom_pipeline.definitions import defs


def _node(entity_asset_name: str):
    return defs.get_repository_def().asset_graph.get(AssetKey(entity_asset_name))


def test_rds_entities_use_the_source_db_pool_and_api_entities_the_source_api_pool() -> None:
    for entity in BRONZE_ENTITIES:
        expected = SOURCE_DB_POOL if entity.source == "rds" else SOURCE_API_POOL
        assert _node(entity.asset_name).pools == {expected}, entity.name
    assert {e.source for e in BRONZE_ENTITIES} == {"rds", "api"}
    assert len(bronze_assets) == len(BRONZE_ENTITIES)

