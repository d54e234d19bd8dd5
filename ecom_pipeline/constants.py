"""Names shared by the domain modules and the Dagster layer."""

PARTITIONS_START_DATE = "2026-01-01"

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
