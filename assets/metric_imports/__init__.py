"""Metric imports: JSON metric files on S3 into PostgreSQL, one transaction per file, and their job."""

from assets.metric_imports.assets import imported_metrics
from assets.partitions import metric_import_file_partitions
from assets.pipeline_jobs import pipeline_job

metric_imports_assets = [imported_metrics]

metric_imports_job = pipeline_job(
    "metric_imports",
    metric_import_file_partitions,
    "Import metric JSON files (one partition each) into PostgreSQL, one transaction per file.",
)

__all__ = ["metric_imports_assets", "metric_imports_job"]
