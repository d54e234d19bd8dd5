"""Resources of the code location. Every value that differs between local and AWS comes from an EnvVar.

Shared stores (RDS, Secrets Manager, DynamoDB, SQS, SNS, CloudWatch, InfluxDB) have plain keys; a pipeline's
own resources are prefixed with its name and built in `resources/<pipeline>/__init__.py`.
"""

from typing import Any

from dagster import EnvVar

from resources.aws import CloudWatchMetricsResource, DynamoDBResource, SnsResource, SqsResource
from resources.bronze import bronze_resources
from resources.energy_series import energy_series_resources
from resources.influxdb import InfluxDBResource
from resources.metric_imports import metric_imports_resources
from resources.product_uploads import product_uploads_resources
from resources.rds import RdsPostgresResource
from resources.secrets import SecretsManagerResource


def build_resources() -> dict[str, Any]:
    secrets = SecretsManagerResource()
    return {
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
        **bronze_resources(secrets),
        **product_uploads_resources(),
        **energy_series_resources(),
        **metric_imports_resources(),
    }
