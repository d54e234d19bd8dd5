"""Where the pipelines keep data and talk to people: buckets, tables, queues, the topic and the secrets.

Names follow docs/CONTRACTS.md with the environment suffix instead of `local`; bucket names also carry the
account id because S3 names are global (seed 003: `ecommerce-product-uploads-{account-id}`).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy.cdk.settings import DLQ_RETENTION_DAYS, DeploymentSettings

UPLOAD_RECORDS_INDEXES = {"VendorIndex": "vendor_id", "StatusIndex": "status"}


class DataStoresStack(Stack):
    """Stateful resources; in prod they are retained when the stack is deleted."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._settings = settings
        self._removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY

        # Bronze partitions are staged before they replace the live prefix; a crashed run's leftovers expire.
        self.lake_bucket = self._bucket(
            "LakeBucket",
            "ecom-lake",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-bronze-staging", prefix="staging/bronze/", expiration=Duration.days(2)
                )
            ],
        )
        self.uploads_bucket = self._bucket("UploadsBucket", "ecom-product-uploads")
        self.series_bucket = self._bucket("SeriesBucket", "ecom-energy-series")
        self.imports_bucket = self._bucket("ImportsBucket", "ecom-metric-imports")
        # Compute logs and the Lambda executor's step payloads: operational, so they expire.
        self.logs_bucket = self._bucket(
            "DagsterLogsBucket",
            "ecom-dagster-logs",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-operational-logs", expiration=Duration.days(settings.log_retention_days)
                )
            ],
        )

        self.checkpoint_table = dynamodb.TableV2(
            self,
            "CheckpointTable",
            table_name=settings.name("ecom-bronze-checkpoints"),
            partition_key=dynamodb.Attribute(name="entity", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=self._point_in_time_recovery(),
            removal_policy=self._removal,
        )
        self.upload_records_table = dynamodb.TableV2(
            self,
            "UploadRecordsTable",
            table_name=settings.name("UploadRecords"),
            partition_key=dynamodb.Attribute(name="upload_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="record_id", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=self._point_in_time_recovery(),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index,
                    partition_key=dynamodb.Attribute(name=attribute, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for index, attribute in UPLOAD_RECORDS_INDEXES.items()
            ],
            removal_policy=self._removal,
        )

        self.upload_errors_queue = self._queue("UploadErrorsQueue", "ecom-upload-errors")
        self.import_dlq = self._queue("MetricImportDlq", "ecom-metric-import-dlq")
        self.lambda_dlq = self._queue("LambdaDlq", "lambda-dlq")
        self.notifications_topic = sns.Topic(
            self,
            "NotificationsTopic",
            topic_name=settings.name("ecom-pipeline-notifications"),
            display_name="ecom-pipeline notifications",
            enforce_ssl=True,
        )

        # The e-commerce platform owns its database credentials (seed 003 creates them by hand).
        self.source_db_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "SourceDbSecret", settings.source_db_secret_name
        )
        # Seed 001: a 48-character alphanumeric key, shared with the payments/shipments API.
        self.api_key_secret = secretsmanager.Secret(
            self,
            "PaymentsApiKeySecret",
            secret_name=settings.name("ecom-payments-api-key"),
            description="x-api-key for the payments/shipments API: {api_key}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key="api_key",
                password_length=48,
                exclude_punctuation=True,
                include_space=False,
            ),
            removal_policy=self._removal,
        )
        # Timestream for InfluxDB issues the token; put it here after the first deploy (deploy/README.md).
        self.influxdb_token_secret = secretsmanager.Secret(
            self,
            "InfluxDbTokenSecret",
            secret_name=settings.name("ecom/influxdb/token"),
            description="InfluxDB v2 write token: {token}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}", generate_string_key="token", exclude_punctuation=True
            ),
            removal_policy=self._removal,
        )
        self._outputs()

    def _bucket(
        self, construct_id: str, base: str, *, lifecycle_rules: list[s3.LifecycleRule] | None = None
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=f"{base}-{self.account}-{self._settings.suffix}",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=self._settings.retain_data,
            lifecycle_rules=lifecycle_rules,
            removal_policy=self._removal,
        )

    def _queue(self, construct_id: str, base: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=self._settings.name(base),
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=self._removal,
        )

    def _point_in_time_recovery(self) -> dynamodb.PointInTimeRecoverySpecification:
        return dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=self._settings.retain_data
        )

    def _outputs(self) -> None:
        values = {
            "LakeBucketName": self.lake_bucket.bucket_name,
            "UploadsBucketName": self.uploads_bucket.bucket_name,
            "SeriesBucketName": self.series_bucket.bucket_name,
            "ImportsBucketName": self.imports_bucket.bucket_name,
            "DagsterLogsBucketName": self.logs_bucket.bucket_name,
            "CheckpointTableArn": self.checkpoint_table.table_arn,
            "UploadRecordsTableArn": self.upload_records_table.table_arn,
            "UploadErrorsQueueUrl": self.upload_errors_queue.queue_url,
            "MetricImportDlqUrl": self.import_dlq.queue_url,
            "LambdaDlqUrl": self.lambda_dlq.queue_url,
            "NotificationsTopicArn": self.notifications_topic.topic_arn,
            "PaymentsApiKeySecretArn": self.api_key_secret.secret_arn,
            "InfluxDbTokenSecretArn": self.influxdb_token_secret.secret_arn,
        }
        for output_id, value in values.items():
            CfnOutput(self, output_id, value=value)
