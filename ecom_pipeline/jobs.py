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
