"""Resources of the code location. Every value that differs between local and AWS comes from an EnvVar."""

import os
from typing import Any

from dagster import EnvVar
from dagster_aws.s3 import S3Resource

from resources.aws import CloudWatchMetricsResource, DynamoDBResource, SnsResource, SqsResource
from resources.bronze import BronzeLakeResource
from resources.checkpoints import CheckpointStoreResource
from resources.influxdb import InfluxDBResource
from resources.metric_imports import MetricImportsConfig
from resources.rds import RdsPostgresResource
from resources.secrets import SecretsManagerResource
from resources.series import EnergySeriesConfig, SeriesReadbackResource
from resources.source_api import SourceApiResource
from resources.uploads import build_upload_resources


def build_resources() -> dict[str, Any]:
    secrets = SecretsManagerResource()
    return {
        "s3": S3Resource(),
        "secrets": secrets,
        "rds": RdsPostgresResource(secrets=secrets, secret_name=EnvVar("RDS_SECRET_NAME")),
        "dynamodb": DynamoDBResource(),
        "sqs": SqsResource(),
        "sns": SnsResource(),
        "cloudwatch": CloudWatchMetricsResource(),
        "influxdb": InfluxDBResource(
            url=EnvVar("INFLUXDB_URL"),
            org=EnvVar("INFLUXDB_ORG"),
            bucket=EnvVar("INFLUXDB_BUCKET"),
            token_secret_name=EnvVar("INFLUXDB_TOKEN_SECRET_NAME"),
            secrets=secrets,
        ),
        "source_api": SourceApiResource(
            payments_url=EnvVar("PAYMENTS_API_URL"),
            shipments_url=EnvVar("SHIPMENTS_API_URL"),
            api_key_secret_name=EnvVar("API_KEY_SECRET_NAME"),
            secrets=secrets,
        ),
        "checkpoints": CheckpointStoreResource(table_name=EnvVar("CHECKPOINT_TABLE")),
        "bronze_lake": BronzeLakeResource(bucket=EnvVar("LAKE_BUCKET")),
        **build_upload_resources(),
        "series_config": EnergySeriesConfig(bucket=EnvVar("SERIES_BUCKET")),
        # Read-back for the series checks: VictoriaMetrics locally; unset on AWS (see SeriesReadbackResource).
        "series_readback": SeriesReadbackResource(
            victoria_metrics_url=os.environ.get("VICTORIA_METRICS_URL")
        ),
        "metric_imports": MetricImportsConfig(
            bucket=EnvVar("IMPORTS_BUCKET"),
            dlq_url=EnvVar("IMPORT_DLQ_URL"),
            notifications_topic_arn=EnvVar("NOTIFICATIONS_TOPIC_ARN"),
            environment=EnvVar("ECOM_ENV"),
        ),
    }
