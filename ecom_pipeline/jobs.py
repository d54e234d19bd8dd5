"""Asset jobs, one per pipeline; sensors and schedules launch these.

Each pipeline has two jobs over the same asset group: `<name>` on the default (multiprocess) executor, which
`make dev` uses, and `<name>_on_lambda`, whose every step is an AWS Lambda invocation
(ecom_pipeline.lambda_executor; steps pick their function by the op tag `ecom/lambda_size`).
"""

from dagster import AssetSelection, ExecutorDefinition, PartitionsDefinition, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from ecom_pipeline.constants import (
    BRONZE_GROUP,
    ENERGY_SERIES_GROUP,
    METRIC_IMPORTS_GROUP,
    PRODUCT_UPLOADS_GROUP,
)
from ecom_pipeline.lambda_executor import lambda_executor
from ecom_pipeline.partitions import (
    bronze_daily_partitions,
    energy_series_partitions,
    metric_import_file_partitions,
    product_upload_partitions,
)


def _pipeline_jobs(
    name: str, group: str, partitions_def: PartitionsDefinition, description: str
) -> tuple[UnresolvedAssetJobDefinition, UnresolvedAssetJobDefinition]:
    def job(job_name: str, what: str, executor_def: ExecutorDefinition | None):
        return define_asset_job(
            job_name,
            selection=AssetSelection.groups(group),
            partitions_def=partitions_def,
            executor_def=executor_def,
            description=what,
        )

    return (
        job(name, description, None),
        job(
            f"{name}_on_lambda",
            f"{description} Every step runs in its own Lambda invocation.",
            lambda_executor,
        ),
    )


bronze_job, bronze_job_on_lambda = _pipeline_jobs(
    "bronze_job",
    BRONZE_GROUP,
    bronze_daily_partitions,
    "Extract one day's window of source changes from every bronze entity into S3 Parquet.",
)
product_upload_job, product_upload_job_on_lambda = _pipeline_jobs(
    "product_upload_job",
    PRODUCT_UPLOADS_GROUP,
    product_upload_partitions,
    "Stage one vendor CSV in DynamoDB and validate it into the products table.",
)
energy_series_job, energy_series_job_on_lambda = _pipeline_jobs(
    "energy_series_job",
    ENERGY_SERIES_GROUP,
    energy_series_partitions,
    "Write one (dataset, day) of processed energy Parquet to InfluxDB.",
)
metric_import_job, metric_import_job_on_lambda = _pipeline_jobs(
    "metric_import_job",
    METRIC_IMPORTS_GROUP,
    metric_import_file_partitions,
    "Import metric JSON files (one partition each) into PostgreSQL, one transaction per file.",
)

LAMBDA_JOBS = [
    bronze_job_on_lambda,
    product_upload_job_on_lambda,
    energy_series_job_on_lambda,
    metric_import_job_on_lambda,
]
PIPELINE_JOBS = [bronze_job, product_upload_job, energy_series_job, metric_import_job, *LAMBDA_JOBS]
