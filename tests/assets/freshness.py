"""Freshness as Dagster itself evaluates it: the cron freshness evaluator over an instance, at a frozen time."""

import asyncio
from datetime import datetime

from dagster import AssetKey, DagsterInstance
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import CronFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time

from ecom_pipeline.definitions import defs


def freshness_state(instance: DagsterInstance, key: AssetKey, at: datetime) -> FreshnessState:
    """The state the UI would show for `key` at `at`, from the materializations `instance` holds."""
    node = defs.get_repository_def().asset_graph.get(key)
    with freeze_time(at):
        return asyncio.run(
            CronFreshnessPolicyEvaluator().evaluate_freshness(LoadingContextForTest(instance), node)
        )
