"""The code location: one Definitions object, loaded by workspace.yaml.

Each pipeline contributes its assets (checks are declared on them as `check_specs`), its jobs, and the
sensors and schedules that launch them; every name starts with the pipeline's name. Listed by hand, so
adding a definition is a deliberate edit here (tests/test_definitions.py pins the inventory).
"""

from dagster import Definitions

from assets.bronze import bronze_assets, bronze_job, bronze_job_on_lambda
from assets.energy_series import energy_series_assets, energy_series_job, energy_series_job_on_lambda
from assets.metric_imports import metric_imports_assets, metric_imports_job, metric_imports_job_on_lambda
from assets.product_uploads import product_uploads_assets, product_uploads_job, product_uploads_job_on_lambda
from resources import build_resources
from sensors.bronze import bronze_daily_schedule
from sensors.energy_series import energy_series_sensor
from sensors.metric_imports import metric_imports_sensor, metric_imports_sweep_schedule
from sensors.product_uploads import product_uploads_sensor


def pipeline_definitions() -> dict[str, Definitions]:
    """Each pipeline's assets, jobs, sensors and schedules (a function: Dagster accepts one module-level
    Definitions object)."""
    return {
        "bronze": Definitions(
            assets=bronze_assets,
            jobs=[bronze_job, bronze_job_on_lambda],
            schedules=[bronze_daily_schedule],
        ),
        "product_uploads": Definitions(
            assets=product_uploads_assets,
            jobs=[product_uploads_job, product_uploads_job_on_lambda],
            sensors=[product_uploads_sensor],
        ),
        "energy_series": Definitions(
            assets=energy_series_assets,
            jobs=[energy_series_job, energy_series_job_on_lambda],
            sensors=[energy_series_sensor],
        ),
        "metric_imports": Definitions(
            assets=metric_imports_assets,
            jobs=[metric_imports_job, metric_imports_job_on_lambda],
            sensors=[metric_imports_sensor],
            schedules=[metric_imports_sweep_schedule],
        ),
    }


defs = Definitions.merge(*pipeline_definitions().values(), Definitions(resources=build_resources()))
