"""Product uploads' stores: vendor CSVs on S3, UploadRecords in DynamoDB, and the vendors/products tables."""

from dagster import ConfigurableResource, EnvVar

from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_records_table import UploadRecordsResource


def product_uploads_resources() -> dict[str, ConfigurableResource]:
    """The `product_uploads_*` resource keys, configured from the environment."""
    return {
        "product_uploads_config": ProductUploadsConfig(
            uploads_bucket=EnvVar("UPLOADS_BUCKET"),
            errors_queue_url=EnvVar("UPLOAD_ERRORS_QUEUE_URL"),
            notifications_topic_arn=EnvVar("NOTIFICATIONS_TOPIC_ARN"),
        ),
        "product_uploads_records": UploadRecordsResource(table_name=EnvVar("UPLOAD_RECORDS_TABLE")),
    }
