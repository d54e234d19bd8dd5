"""The bronze asset graph: one daily asset per entity, four checks each, cheap lineage to the writers."""

from dagster import AssetKey, DagsterInstance, LastPartitionMapping
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

from assets.bronze.assets import build_bronze_asset
from assets.bronze.checks import NOT_NULL_CHECK, PRIMARY_KEY_CHECK, ROW_COUNT_CHECK, SCHEMA_CHECK
from assets.metric_imports.assets import imported_metrics
from assets.partitions import bronze_daily_partitions, product_upload_partitions
from assets.product_uploads.assets import product_upload_records, validated_products
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES

BRONZE = [build_bronze_asset(e) for e in BRONZE_ENTITIES]


def test_every_entity_is_a_daily_asset_with_the_four_checks():
    assert {a.key.path[0] for a in BRONZE} == {f"bronze_{e.name}" for e in BRONZE_ENTITIES}
    for assets_def in BRONZE:
        assert assets_def.partitions_def == bronze_daily_partitions
        assert assets_def.group_names_by_key[assets_def.key] == "bronze"
        assert {c.name for c in assets_def.check_keys} == {
            ROW_COUNT_CHECK,
            NOT_NULL_CHECK,
            PRIMARY_KEY_CHECK,
            SCHEMA_CHECK,
        }


def test_writers_of_source_tables_are_upstream_through_their_latest_partition():
    graph = AssetGraph.from_assets([*BRONZE, validated_products, product_upload_records, imported_metrics])
    products, metrics = AssetKey("bronze_products"), AssetKey("bronze_metrics")
    assert AssetKey("validated_products") in graph.get(products).parent_keys
    assert AssetKey("imported_metrics") in graph.get(metrics).parent_keys
    assert AssetKey("product_upload_records") in graph.get(AssetKey("bronze_upload_history")).parent_keys
    mapping = graph.get_partition_mapping(products, AssetKey("validated_products"))
    assert isinstance(mapping, LastPartitionMapping)

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("product_uploads", [f"upload-{i}" for i in range(500)])
    mapped = mapping.get_upstream_mapped_partitions_result_for_partitions(
        bronze_daily_partitions.subset_with_partition_keys(["2026-06-10", "2026-06-11"]),
        bronze_daily_partitions,
        product_upload_partitions,
        dynamic_partitions_store=instance,
    )
    # Each day maps to one upload partition, not all 500.
    assert list(mapped.partitions_subset.get_partition_keys()) == ["upload-499"]
