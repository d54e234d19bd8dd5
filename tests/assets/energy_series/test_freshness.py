"""`energy_series` freshness (one policy for the asset), evaluated by Dagster's cron freshness evaluator."""

from datetime import UTC, datetime

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance, MultiPartitionKey
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.test_utils import freeze_time

from assets.energy_series.assets import energy_series_freshness_policy
from ecom_pipeline.constants import ENERGY_SERIES_FRESH_BY_HOUR_ENV
from ecom_pipeline.definitions import defs
from tests.assets.freshness import freshness_state

KEY = AssetKey("energy_series")


def _state(instance: DagsterInstance, at: datetime) -> FreshnessState:
    return freshness_state(instance, KEY, at)


def test_energy_series_is_fresh_while_a_partition_was_written_in_the_day_before_the_deadline() -> None:
    policy = defs.get_repository_def().asset_graph.get(KEY).freshness_policy
    assert policy == energy_series_freshness_policy({})
    assert policy.deadline_cron == "0 12 * * *" and policy.lower_bound_delta.total_seconds() == 24 * 3600
    with DagsterInstance.ephemeral() as instance:
        partition = MultiPartitionKey({"dataset": "generation", "date": "2026-11-20"})
        with freeze_time(datetime(2026, 11, 21, 3, tzinfo=UTC)):
            instance.report_runless_asset_event(AssetMaterialization(KEY, partition=partition))
        assert _state(instance, datetime(2026, 11, 21, 12, 1, tzinfo=UTC)) == FreshnessState.PASS
        assert _state(instance, datetime(2026, 11, 22, 11, 59, tzinfo=UTC)) == FreshnessState.PASS
        assert _state(instance, datetime(2026, 11, 22, 12, 1, tzinfo=UTC)) == FreshnessState.FAIL


def test_the_deadline_hour_is_a_setting() -> None:
    assert (
        energy_series_freshness_policy({ENERGY_SERIES_FRESH_BY_HOUR_ENV: "18"}).deadline_cron == "0 18 * * *"
    )
    with pytest.raises(ValueError, match=f"{ENERGY_SERIES_FRESH_BY_HOUR_ENV}='0' is not an hour"):
        energy_series_freshness_policy({ENERGY_SERIES_FRESH_BY_HOUR_ENV: "0"})
