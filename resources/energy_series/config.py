"""Energy-series configuration: where processed Parquet lives and how the loader validates and writes it."""

from pydantic import Field

from ecom_pipeline.energy_series.datasets import PROCESSED_PREFIX
from ecom_pipeline.energy_series.write_policy import RetrySettings
from resources.aws_clients import AwsClientResource


class EnergySeriesConfig(AwsClientResource):
    """Where processed Parquet lives and how the loader writes it; `client("s3")` is cached per process."""

    bucket: str = Field(description="Series bucket with processed/dataset=.../date=YYYY-MM-DD/*.parquet.")
    processed_prefix: str = Field(default=PROCESSED_PREFIX, description="Key prefix the sensor lists.")
    batch_size: int = Field(default=1000, ge=1, description="Points per write request (MAX_BATCH_SIZE).")
    max_retries: int = Field(default=3, ge=0, description="Retries of a failing write (MAX_RETRIES).")
    conversion_chunk_rows: int = Field(
        default=50_000, ge=1, description="Rows converted at a time while the previous chunk is written."
    )
    retry_backoff_seconds: float = Field(default=1.0, ge=0, description="First backoff; doubles per retry.")
    enable_validation: bool = Field(
        default=True, description="Schema and row validation (ENABLE_VALIDATION)."
    )
    drop_invalid_records: bool = Field(
        default=True, description="Drop and count invalid rows instead of failing (DROP_INVALID_RECORDS)."
    )
    drop_rate_warn_threshold: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of dropped rows above which the dropped-rows check warns.",
    )
    metrics_namespace: str = Field(default="ONS/InfluxDB", description="CloudWatch namespace of the loader.")
    step_retries: int = Field(
        default=3, ge=0, description="Dagster retries of a step that found the server unavailable."
    )
    step_retry_wait_seconds: float = Field(default=30.0, ge=0, description="Wait before such a step retry.")
    sensor_max_runs_per_tick: int = Field(
        default=200, ge=1, description="Partitions requested per tick at most."
    )

    def retry_settings(self) -> RetrySettings:
        """The write policy's retries and backoff from this configuration."""
        return RetrySettings(max_retries=self.max_retries, backoff_seconds=self.retry_backoff_seconds)

    def browse_url(self, key: str) -> str:
        """A lasting link to an object or folder (`key` ending in `/`) of the series bucket, for metadata."""
        return self.s3_link(self.bucket, key)
