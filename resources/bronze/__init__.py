"""Bronze ingestion's stores: the lake on S3, the checkpoints in DynamoDB, and the payments/shipments APIs."""

from dagster import ConfigurableResource, EnvVar

from resources.bronze.checkpoints import CheckpointStoreResource
from resources.bronze.lake import BronzeLakeResource
from resources.bronze.source_api import SourceApiResource
from resources.secrets import SecretsManagerResource


def bronze_resources(secrets: SecretsManagerResource) -> dict[str, ConfigurableResource]:
    """The `bronze_*` resource keys, configured from the environment."""
    return {
        "bronze_lake": BronzeLakeResource(bucket=EnvVar("LAKE_BUCKET")),
        "bronze_checkpoints": CheckpointStoreResource(table_name=EnvVar("CHECKPOINT_TABLE")),
        "bronze_source_api": SourceApiResource(
            payments_url=EnvVar("PAYMENTS_API_URL"),
            shipments_url=EnvVar("SHIPMENTS_API_URL"),
            api_key_secret_name=EnvVar("API_KEY_SECRET_NAME"),
            secrets=secrets,
        ),
    }
