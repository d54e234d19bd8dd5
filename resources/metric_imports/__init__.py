"""Metric imports' stores: JSON files on S3, the metrics table and import ledger, and the dead-letter path."""

from dagster import ConfigurableResource, EnvVar

from resources.metric_imports.config import MetricImportsConfig


def metric_imports_resources() -> dict[str, ConfigurableResource]:
    """The `metric_imports_*` resource keys, configured from the environment."""
    return {
        "metric_imports_config": MetricImportsConfig(
            bucket=EnvVar("IMPORTS_BUCKET"),
            dlq_url=EnvVar("IMPORT_DLQ_URL"),
            notifications_topic_arn=EnvVar("NOTIFICATIONS_TOPIC_ARN"),
            environment=EnvVar("ECOM_ENV"),
        ),
    }
