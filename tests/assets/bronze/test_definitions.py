"""What the UI shows of the bronze assets before any run: pools, partition-aware checks, freshness."""

import os
import subprocess
import sys

import pytest
from dagster import AssetKey

from assets.bronze import bronze_assets
from assets.partitions import bronze_daily_partitions
from assets.pools import SOURCE_API_POOL, SOURCE_DB_POOL
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES
from ecom_pipeline.constants import BRONZE_START_DATE_ENV, DEFAULT_BRONZE_START_DATE, date_setting
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


def test_the_first_bronze_partition_is_a_setting_read_when_the_code_location_loads() -> None:
    assert bronze_daily_partitions.get_first_partition_key() == DEFAULT_BRONZE_START_DATE == "2020-01-01"
    assert date_setting({BRONZE_START_DATE_ENV: " 2018-03-01 "}, BRONZE_START_DATE_ENV, "x") == "2018-03-01"
    for bad in ("2018-3-1", "yesterday", "2018-02-30"):
        with pytest.raises(ValueError, match=f"{BRONZE_START_DATE_ENV}='{bad}' is not a date"):
            date_setting({BRONZE_START_DATE_ENV: bad}, BRONZE_START_DATE_ENV, DEFAULT_BRONZE_START_DATE)
    script = "from assets.partitions import bronze_daily_partitions as p; print(p.get_first_partition_key())"
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, BRONZE_START_DATE_ENV: "2017-05-01"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.stdout.strip().splitlines()[-1] == "2017-05-01", loaded.stderr[-2000:]
