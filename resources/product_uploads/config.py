"""`ProductUploadsConfig`: where vendor uploads come from, where their outcomes go, and the sensor's limits."""

from pydantic import Field

from resources.aws_clients import AwsClientResource


class ProductUploadsConfig(AwsClientResource):
    """Where uploads come from and where their outcomes go; `client("s3")` is cached per process.

    The sensor lists S3 through this cached client rather than `S3Resource.get_client()`, which builds a new
    boto3 session per call (most of a tick's time on a busy machine).
    """

    uploads_bucket: str = Field(description="Bucket with vendor CSVs under uploads/{VENDOR_ID}/.")
    errors_queue_url: str = Field(description="SQS queue for rejected rows.")
    notifications_topic_arn: str = Field(description="SNS topic for the per-upload summary.")
    uploads_prefix: str = Field(default="uploads/", description="Key prefix of vendor folders.")
    error_rate_warn_threshold: float = Field(
        default=0.1, description="Share of rejected rows above which the error-rate check warns."
    )
    metrics_namespace: str = Field(default="EcommerceProductOnboarding")
    db_schema: str | None = Field(
        default=None, description="Schema of vendors/products/upload_history; unset uses the search_path."
    )
    sensor_page_size: int = Field(
        default=1000, description="MaxKeys of every S3 list call of product_uploads_sensor."
    )
    sensor_max_runs_per_tick: int = Field(default=200, description="New uploads requested per tick at most.")
    sensor_sweep_keys_per_tick: int = Field(
        default=1000, description="Keys the safety-net sweep reads per tick (finds keys below a cursor)."
    )
    max_upload_bytes: int = Field(
        default=32 << 20,
        description="Largest CSV one upload may be; bigger files are refused unread (bounds the step's memory).",
    )
