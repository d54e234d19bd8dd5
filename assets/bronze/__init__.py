"""Bronze ingestion: one daily-partitioned asset per source entity, its checks, and its job."""

from assets.bronze.assets import bronze_assets
from assets.partitions import bronze_daily_partitions
from assets.pipeline_jobs import pipeline_job

bronze_job = pipeline_job(
    "bronze",
    bronze_daily_partitions,
    "Extract one day's window of source changes from every bronze entity into S3 Parquet.",
)

__all__ = ["bronze_assets", "bronze_job"]
