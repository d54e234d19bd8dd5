"""Energy time series: one (dataset, day) of processed Parquet written to InfluxDB, and its job."""

from assets.energy_series.assets import energy_series
from assets.partitions import energy_series_partitions
from assets.pipeline_jobs import pipeline_job

energy_series_assets = [energy_series]

energy_series_job = pipeline_job(
    "energy_series",
    energy_series_partitions,
    "Write one (dataset, day) of processed energy Parquet to InfluxDB.",
)

__all__ = ["energy_series_assets", "energy_series_job"]
