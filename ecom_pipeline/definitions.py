"""The code location: one Definitions object, loaded by workspace.yaml.

Each pipeline contributes its assets (checks are declared on them as `check_specs`), its one job, and the
sensors and schedules that launch it; every name starts with the pipeline's name. Listed by hand, so
adding a definition is a deliberate edit here (tests/test_definitions.py pins the inventory).

The deployment picks where steps run: ECOM_STEP_EXECUTOR (`multiprocess`, the default, or `lambda`) sets the
executor of the whole code location when it loads. A Definitions-level executor reaches every job without an
executor of its own, including the implicit asset job that runs a backfill launched from an asset's
partitions page, so sensor runs, schedule runs and UI backfills all run their steps the same way.
"""

import os
from collections.abc import Mapping

from dagster import Definitions, ExecutorDefinition, multiprocess_executor

from assets.bronze import bronze_assets, bronze_job
from assets.energy_series import energy_series_assets, energy_series_job
from assets.metric_imports import metric_imports_assets, metric_imports_job
from assets.product_uploads import product_uploads_assets, product_uploads_job
from ecom_pipeline.lambda_executor import lambda_executor
from resources import build_resources
from sensors.bronze import bronze_daily_schedule
from sensors.energy_series import energy_series_sensor
from sensors.metric_imports import metric_imports_sensor, metric_imports_sweep_schedule
from sensors.product_uploads import product_uploads_sensor

STEP_EXECUTOR_ENV = "ECOM_STEP_EXECUTOR"
STEP_EXECUTORS: dict[str, ExecutorDefinition] = {
    "multiprocess": multiprocess_executor,
    "lambda": lambda_executor,
}


def step_executor(environ: Mapping[str, str] = os.environ) -> ExecutorDefinition:
    """The executor ECOM_STEP_EXECUTOR names; an unknown value stops the code location from loading, since
    silently falling back would run production steps in the daemon's task."""
    name = (environ.get(STEP_EXECUTOR_ENV) or "multiprocess").strip().lower()
    if name not in STEP_EXECUTORS:
        raise ValueError(
            f"{STEP_EXECUTOR_ENV}={environ.get(STEP_EXECUTOR_ENV)!r} names no executor; "
            f"use one of: {', '.join(STEP_EXECUTORS)}"
        )
    return STEP_EXECUTORS[name]


def pipeline_definitions() -> dict[str, Definitions]:
    """Each pipeline's assets, job, sensors and schedules (a function: Dagster accepts one module-level
    Definitions object)."""
    return {
        "bronze": Definitions(
            assets=bronze_assets,
            jobs=[bronze_job],
            schedules=[bronze_daily_schedule],
        ),
        "product_uploads": Definitions(
            assets=product_uploads_assets,
            jobs=[product_uploads_job],
            sensors=[product_uploads_sensor],
        ),
        "energy_series": Definitions(
            assets=energy_series_assets,
            jobs=[energy_series_job],
            sensors=[energy_series_sensor],
        ),
        "metric_imports": Definitions(
            assets=metric_imports_assets,
            jobs=[metric_imports_job],
            sensors=[metric_imports_sensor],
            schedules=[metric_imports_sweep_schedule],
        ),
    }


def build_definitions(executor: ExecutorDefinition) -> Definitions:
    """The code location with every job (and asset backfill) on `executor`."""
    return Definitions.merge(
        *pipeline_definitions().values(),
        Definitions(resources=build_resources(), executor=executor),
    )


defs = build_definitions(step_executor())
