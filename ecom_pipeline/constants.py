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
