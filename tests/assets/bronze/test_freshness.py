"""Bronze freshness, evaluated by Dagster's own cron freshness evaluator on an instance's materializations."""

from datetime import UTC, datetime

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.test_utils import freeze_time

from assets.bronze.assets import bronze_freshness_policy
from ecom_pipeline.constants import BRONZE_FRESH_BY_HOUR_ENV
from ecom_pipeline.definitions import defs
from tests.assets.freshness import freshness_state

KEY = AssetKey("bronze_orders")


def _state(instance: DagsterInstance, at: datetime) -> FreshnessState:
    return freshness_state(instance, KEY, at)


def _materialize(instance: DagsterInstance, at: datetime, partition: str) -> None:
    with freeze_time(at):
        instance.report_runless_asset_event(AssetMaterialization(KEY, partition=partition))


def test_bronze_is_fresh_when_yesterday_landed_after_midnight_and_late_after_the_deadline() -> None:
    policy = defs.get_repository_def().asset_graph.get(KEY).freshness_policy
    assert policy == bronze_freshness_policy({})  # default: 06:00 UTC, window from midnight
    assert policy.deadline_cron == "0 6 * * *" and policy.lower_bound_delta.total_seconds() == 6 * 3600
    with DagsterInstance.ephemeral() as instance:
        assert _state(instance, datetime(2026, 11, 21, 7, tzinfo=UTC)) == FreshnessState.UNKNOWN
        # The 00:30 schedule run of 2026-11-20 lands at 00:31: fresh until the next day's deadline.
        _materialize(instance, datetime(2026, 11, 21, 0, 31, tzinfo=UTC), "2026-11-20")
        assert _state(instance, datetime(2026, 11, 21, 6, 1, tzinfo=UTC)) == FreshnessState.PASS
        assert _state(instance, datetime(2026, 11, 22, 5, 59, tzinfo=UTC)) == FreshnessState.PASS
        # No run of 2026-11-21 by 06:00 on the 22nd: late.
        assert _state(instance, datetime(2026, 11, 22, 6, 1, tzinfo=UTC)) == FreshnessState.FAIL
        _materialize(instance, datetime(2026, 11, 22, 8, tzinfo=UTC), "2026-11-21")
        assert _state(instance, datetime(2026, 11, 22, 8, 1, tzinfo=UTC)) == FreshnessState.PASS


def test_the_deadline_hour_is_a_setting() -> None:
    policy = bronze_freshness_policy({BRONZE_FRESH_BY_HOUR_ENV: "3"})
    assert policy.deadline_cron == "0 3 * * *" and policy.lower_bound_delta.total_seconds() == 3 * 3600
    for bad in ("0", "24", "six"):
        with pytest.raises(
            ValueError, match=f"{BRONZE_FRESH_BY_HOUR_ENV}='{bad}' is not an hour from 1 to 23"
        ):
            bronze_freshness_policy({BRONZE_FRESH_BY_HOUR_ENV: bad})
