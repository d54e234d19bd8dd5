"""What the UI shows of the bronze assets before any run: pools, partition-aware checks, freshness."""

from dagster import AssetKey

from assets.bronze import bronze_assets
from assets.partitions import bronze_daily_partitions
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


def test_every_check_spec_is_partitioned_like_its_asset() -> None:
    for assets_def in bronze_assets:
        specs = list(assets_def.check_specs)
        assert len(specs) == 4, assets_def.key
        for spec in specs:
            assert spec.partitions_def == assets_def.partitions_def == bronze_daily_partitions, spec.key
    # One partition per run (the asset reads context.partition_key): a backfill runs each day on its own,
    # so each run records one result per check, for its day.
    assert all(
        a.backfill_policy is None or a.backfill_policy.max_partitions_per_run == 1 for a in bronze_assets
    )
