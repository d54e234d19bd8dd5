"""Configuration of the metric file imports: where files arrive, where bad ones go, limits."""

from pydantic import Field, model_validator

from resources.aws_clients import AwsClientResource


class MetricImportsConfig(AwsClientResource):
    """Bucket layout, dead-letter targets, size limit and database retry policy of the metric imports.

    Build it with `MetricImportsConfig(bucket=EnvVar("IMPORTS_BUCKET"), dlq_url=EnvVar("IMPORT_DLQ_URL"),
    notifications_topic_arn=EnvVar("NOTIFICATIONS_TOPIC_ARN"), environment=EnvVar("ECOM_ENV"))`.
    Its `client("s3")` is the cached boto3 client of `AwsClientResource`, where dagster-aws `S3Resource`
    builds a new session for every run (0.1-0.3 s, more than importing a small file).
    """

    bucket: str = Field(description="S3 bucket the metric JSON files arrive in (IMPORTS_BUCKET).")
    imports_prefix: str = Field(default="imports/", description="Only keys under this prefix are imported.")
    quarantine_prefix: str = Field(
        default="quarantine/", description="Rejected files are copied to this prefix + their key."
    )
    dlq_url: str = Field(
        description="SQS dead-letter queue for rejected and failed imports (IMPORT_DLQ_URL)."
    )
    notifications_topic_arn: str = Field(description="SNS topic for failure notifications.")
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description="Files above this size are rejected unread: one file is parsed in memory.",
    )
    db_schema: str = Field(default="public", description="Schema holding `metrics` and the import ledger.")
    metrics_table: str = Field(default="metrics")
    ledger_table: str = Field(default="metric_import_files")
    db_attempts: int = Field(
        default=4, ge=1, description="Attempts per file on transient database errors (first try included)."
    )
    db_writers: int = Field(
        default=2,
        ge=1,
        description="Files of a run written at the same time, each in its own transaction on its own connection.",
    )
    db_retry_base_seconds: float = Field(
        default=1.0, ge=0, description="Backoff before retry n is base * 2**(n-1), plus jitter."
    )
    sweep_settle_minutes: int = Field(
        default=15, ge=0, description="The schedule leaves files younger than this to the sensor."
    )
    sweep_max_attempts: int = Field(
        default=5,
        ge=1,
        description="The sweep stops retrying a version that failed this many times (one final alert); a "
        "re-materialization from the UI still imports it.",
    )
    sweep_backoff_minutes: float = Field(
        default=60.0, ge=0, description="The sweep retries a version after base * 2**(attempts-1) minutes."
    )
    partition_retention_days: int = Field(
        default=7,
        ge=1,
        description="An imported file keeps its partition this many days after its last run; then the hourly "
        "sweep deletes the partition (the ledger and the event log keep the file's history). Failed and "
        "rejected files keep theirs.",
    )
    partition_prune_batch: int = Field(
        default=30,
        ge=1,
        description="Partitions one sweep deletes at most: each deletion costs Dagster two new connections to "
        "its storage (30-50 ms locally), so 30 keep a sweep near 1-1.5 s and prune 720 a day.",
    )
    cloudwatch_namespace: str = Field(default="EcomPipeline/MetricImports")
    environment: str = Field(default="local", description="CloudWatch dimension `Environment` (ECOM_ENV).")

    @model_validator(mode="after")
    def _quarantine_outside_imports(self) -> "MetricImportsConfig":
        # A quarantined copy under the imports prefix would be picked up and rejected again, forever.
        if self.quarantine_prefix.startswith(self.imports_prefix) or not self.quarantine_prefix:
            raise ValueError(
                f"quarantine_prefix {self.quarantine_prefix!r} must be non-empty and outside "
                f"imports_prefix {self.imports_prefix!r}"
            )
        return self
