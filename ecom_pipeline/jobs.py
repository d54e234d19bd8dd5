"""Asset jobs, one per pipeline; sensors and schedules launch these.

The default executor (multiprocess) serves `make dev`; the `*_on_lambda` variants below run every step as an
AWS Lambda invocation.
"""

from dagster import AssetSelection, define_asset_job

from ecom_pipeline.constants import (
    BRONZE_GROUP,
    ENERGY_SERIES_GROUP,
    METRIC_IMPORTS_GROUP,
    PRODUCT_UPLOADS_GROUP,
)
from ecom_pipeline.partitions import (
    bronze_daily_partitions,
    energy_series_partitions,
    metric_import_file_partitions,
    product_upload_partitions,
)

bronze_job = define_asset_job(
    "bronze_job",
    selection=AssetSelection.groups(BRONZE_GROUP),
    partitions_def=bronze_daily_partitions,
    description="Extract one day's window of source changes from every bronze entity into S3 Parquet.",
)

product_upload_job = define_asset_job(
    "product_upload_job",
    selection=AssetSelection.groups(PRODUCT_UPLOADS_GROUP),
    partitions_def=product_upload_partitions,
    description="Stage one vendor CSV in DynamoDB and validate it into the products table.",
)

energy_series_job = define_asset_job(
    "energy_series_job",
    selection=AssetSelection.groups(ENERGY_SERIES_GROUP),
    partitions_def=energy_series_partitions,
    description="Write one (dataset, day) of processed energy Parquet to InfluxDB.",
)

metric_import_job = define_asset_job(
    "metric_import_job",
    selection=AssetSelection.groups(METRIC_IMPORTS_GROUP),
    partitions_def=metric_import_file_partitions,
    description="Import one metric JSON file into PostgreSQL in a single transaction.",
)

PIPELINE_JOBS = [bronze_job, product_upload_job, energy_series_job, metric_import_job]

# The same pipelines with every step run as an AWS Lambda invocation (ecom_pipeline.lambda_executor). Steps
# pick their function by the op tag `ecom/lambda_size`; the multiprocess jobs above stay the default.
from ecom_pipeline.lambda_executor import lambda_executor  # noqa: E402


def _on_lambda(job_name: str, group: str, partitions_def, what: str):
    return define_asset_job(
        f"{job_name}_on_lambda",
        selection=AssetSelection.groups(group),
        partitions_def=partitions_def,
        executor_def=lambda_executor,
        description=f"{what} Every step runs in its own Lambda invocation.",
    )


bronze_job_on_lambda = _on_lambda("bronze_job", BRONZE_GROUP, bronze_daily_partitions, bronze_job.description)
product_upload_job_on_lambda = _on_lambda(
    "product_upload_job", PRODUCT_UPLOADS_GROUP, product_upload_partitions, product_upload_job.description
)
energy_series_job_on_lambda = _on_lambda(
    "energy_series_job", ENERGY_SERIES_GROUP, energy_series_partitions, energy_series_job.description
)
metric_import_job_on_lambda = _on_lambda(
    "metric_import_job", METRIC_IMPORTS_GROUP, metric_import_file_partitions, metric_import_job.description
)

LAMBDA_JOBS = [
    bronze_job_on_lambda,
    product_upload_job_on_lambda,
    energy_series_job_on_lambda,
    metric_import_job_on_lambda,
]
PIPELINE_JOBS = [*PIPELINE_JOBS, *LAMBDA_JOBS]
