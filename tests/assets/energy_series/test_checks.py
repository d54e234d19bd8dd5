"""Check results of `energy_series` that need no server."""

from datetime import date

import numpy as np
from dagster import AssetCheckSeverity

from assets.energy_series.checks import day_check, drop_rate_check, points_check
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.partition_day import day_bounds_ns
from resources.energy_series.readback import SeriesReadbackResource

DAY = date(2026, 3, 1)


def test_day_check_counts_points_outside_the_day():
    start, end = day_bounds_ns(DAY)
    assert end - start == 86_400 * 10**9
    inside = day_check(DAY, np.array([start, end - 1], dtype=np.int64))
    assert inside.passed and inside.metadata["points_outside_day"].value == 0
    outside = day_check(DAY, np.array([start - 1, start, end], dtype=np.int64))
    assert not outside.passed and outside.metadata["points_outside_day"].value == 2
    assert outside.severity == AssetCheckSeverity.ERROR


def test_drop_rate_warns_above_the_threshold():
    assert drop_rate_check(100, {"null_field": 5}, 0.05).passed
    over = drop_rate_check(100, {"null_field": 5, "missing_tag": 1}, 0.05)
    assert not over.passed and over.severity == AssetCheckSeverity.WARN
    assert drop_rate_check(0, {}, 0.05).passed


def test_points_check_without_a_read_back_endpoint_warns_instead_of_passing():
    result = points_check(
        SeriesReadbackResource(), DATASETS["generation"], "energy", DAY, np.zeros(0, np.int64), 3, 3
    )
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert "not configured" in result.metadata["readback"].value
