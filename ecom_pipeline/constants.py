"""Names shared by the domain modules and the Dagster layer, and the few settings read when the code location
loads (partition starts, freshness deadlines): parsed here so a bad value stops the load with its name."""

from collections.abc import Mapping
from datetime import date

# First day of the energy series partitions (processed files start in 2026).
PARTITIONS_START_DATE = "2026-01-01"

# First bronze partition: early enough for the source's history, so a backfill can reach any past day.
BRONZE_START_DATE_ENV = "ECOM_BRONZE_START_DATE"
DEFAULT_BRONZE_START_DATE = "2020-01-01"

# Hour (UTC) by which the previous day's data should have landed; the UI flags an asset late after it.
BRONZE_FRESH_BY_HOUR_ENV = "ECOM_BRONZE_FRESH_BY_HOUR_UTC"
DEFAULT_BRONZE_FRESH_BY_HOUR = 6
ENERGY_SERIES_FRESH_BY_HOUR_ENV = "ECOM_ENERGY_SERIES_FRESH_BY_HOUR_UTC"
DEFAULT_ENERGY_SERIES_FRESH_BY_HOUR = 12

ENERGY_DATASETS = ("generation", "consumption", "transmission")

# Asset groups, as shown in the Dagster UI.
BRONZE_GROUP = "bronze"
PRODUCT_UPLOADS_GROUP = "product_uploads"
ENERGY_SERIES_GROUP = "energy_series"
METRIC_IMPORTS_GROUP = "metric_imports"

# Op tag read by the Lambda executor to size the function that runs a step.
LAMBDA_SIZE_TAG = "ecom/lambda_size"

# Step-function size classes of the Lambda executor (seed 004 sizes light functions at 512 MB, seed 001 gives
# bronze 2 GB and 15 minutes). Function name: f"{LAMBDA_FUNCTION_PREFIX}-{size}-{environment}".
LAMBDA_FUNCTION_PREFIX = "ecom-pipeline-step"
LAMBDA_STEP_SIZES: dict[str, dict[str, int]] = {
    "small": {"memory_mb": 512, "timeout_s": 300},
    "large": {"memory_mb": 2048, "timeout_s": 900},
}
LAMBDA_STEP_HANDLER = "step_handler.handler"  # deploy/lambda/step_handler.py, copied to LAMBDA_TASK_ROOT


def date_setting(environ: Mapping[str, str], name: str, default: str) -> str:
    """An ISO date (`YYYY-MM-DD`) from the environment, else `default`; anything else is refused by name."""
    value = (environ.get(name) or "").strip() or default
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date (YYYY-MM-DD)") from None
    if len(value) != 10:
        raise ValueError(f"{name}={value!r} is not a date (YYYY-MM-DD)")
    return parsed.isoformat()


def hour_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    """An hour of the day 1..23 from the environment, else `default` (0 would leave no time after midnight)."""
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 23:
        raise ValueError(f"{name}={value!r} is not an hour from 1 to 23")
    return int(value)
