"""What a process that runs pipeline steps may touch, as explicit IAM statements and environment variables.

Both the step functions and the Dagster daemon (which runs the multiprocess jobs itself) run steps, so
both get these. Statements are written out rather than produced by `grant_*` helpers so the policy is
exactly what deploy/README.md and the tests say: no KMS extras, no wildcards beyond the two AWS needs.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from deploy.cdk.data_stores_stack import DataStoresStack
from deploy.cdk.settings import (
    IMPORT_QUARANTINE_PATTERN,
    METRIC_NAMESPACES,
    STEP_EXECUTOR,
    UPLOAD_ERROR_REPORTS_PATTERN,
    DeploymentSettings,
)


def pipeline_statements(
    stores: DataStoresStack, instance_db_secret: secretsmanager.ISecret
) -> list[iam.PolicyStatement]:
    """Least-privilege access to the pipelines' data stores: the calls the code makes, on its resources."""
    buckets = [
        stores.lake_bucket,
        stores.uploads_bucket,
        stores.series_bucket,
        stores.imports_bucket,
        stores.logs_bucket,
    ]
    return [
        iam.PolicyStatement(
            sid="ListPipelineBuckets", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets]
        ),
        iam.PolicyStatement(
            sid="ReadPipelineObjects",
            actions=["s3:GetObject"],
            resources=[b.arn_for_objects("*") for b in buckets],
        ),
        # A bronze partition is staged, then copied over the live prefix, whose old files are deleted.
        iam.PolicyStatement(
            sid="WriteLake",
            actions=["s3:PutObject", "s3:DeleteObject"],
            resources=[stores.lake_bucket.arn_for_objects("*")],
        ),
        # Compute logs, and the Lambda executor's step arguments when they exceed the invoke payload.
        iam.PolicyStatement(
            sid="WriteComputeLogsAndStepPayloads",
            actions=["s3:PutObject"],
            resources=[stores.logs_bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(
            sid="WriteUploadErrorReports",
            actions=["s3:PutObject"],
            resources=[stores.uploads_bucket.arn_for_objects(UPLOAD_ERROR_REPORTS_PATTERN)],
        ),
        iam.PolicyStatement(
            sid="QuarantineRejectedImports",
            actions=["s3:PutObject"],
            resources=[stores.imports_bucket.arn_for_objects(IMPORT_QUARANTINE_PATTERN)],
        ),
        iam.PolicyStatement(
            sid="BronzeCheckpoints",
            actions=["dynamodb:GetItem", "dynamodb:PutItem"],
            resources=[stores.checkpoint_table.table_arn],
        ),
        iam.PolicyStatement(
            sid="UploadRecords",
            actions=["dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
            resources=[stores.upload_records_table.table_arn],
        ),
        iam.PolicyStatement(
            sid="RejectedRecordQueues",
            actions=["sqs:SendMessage"],
            resources=[stores.upload_errors_queue.queue_arn, stores.import_dlq.queue_arn],
        ),
        iam.PolicyStatement(
            sid="Notifications", actions=["sns:Publish"], resources=[stores.notifications_topic.topic_arn]
        ),
        iam.PolicyStatement(
            sid="ReadSecrets",
            actions=["secretsmanager:GetSecretValue"],
            resources=[
                # Imported by name: its ARN ends in a random 6-character suffix.
                f"{stores.source_db_secret.secret_arn}-??????",
                stores.api_key_secret.secret_arn,
                stores.influxdb_token_secret.secret_arn,
                instance_db_secret.secret_arn,
            ],
        ),
        # PutMetricData has no resource type; AWS requires "*", the namespace condition narrows it.
        iam.PolicyStatement(
            sid="PipelineMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": list(METRIC_NAMESPACES)}},
        ),
    ]


def pipeline_environment(
    settings: DeploymentSettings, stores: DataStoresStack, instance_db_secret: secretsmanager.ISecret
) -> dict[str, str]:
    """The docs/CONTRACTS.md variables with their production values (same names as `.local/stack.env`)."""
    endpoints = settings.endpoints
    return {
        "ECOM_ENV": settings.suffix,
        "ECOM_STEP_EXECUTOR": STEP_EXECUTOR,
        "LAKE_BUCKET": stores.lake_bucket.bucket_name,
        "UPLOADS_BUCKET": stores.uploads_bucket.bucket_name,
        "SERIES_BUCKET": stores.series_bucket.bucket_name,
        "IMPORTS_BUCKET": stores.imports_bucket.bucket_name,
        "DAGSTER_LOGS_BUCKET": stores.logs_bucket.bucket_name,
        "CHECKPOINT_TABLE": stores.checkpoint_table.table_name,
        "UPLOAD_RECORDS_TABLE": stores.upload_records_table.table_name,
        "UPLOAD_ERRORS_QUEUE_URL": stores.upload_errors_queue.queue_url,
        "IMPORT_DLQ_URL": stores.import_dlq.queue_url,
        "LAMBDA_DLQ_URL": stores.lambda_dlq.queue_url,
        "NOTIFICATIONS_TOPIC_ARN": stores.notifications_topic.topic_arn,
        "RDS_SECRET_NAME": settings.source_db_secret_name,
        "API_KEY_SECRET_NAME": stores.api_key_secret.secret_arn,
        "INFLUXDB_URL": endpoints.influxdb_url,
        "INFLUXDB_ORG": endpoints.influxdb_org,
        "INFLUXDB_BUCKET": endpoints.influxdb_bucket,
        "INFLUXDB_TOKEN_SECRET_NAME": stores.influxdb_token_secret.secret_arn,
        "PAYMENTS_API_URL": endpoints.payments_api_url,
        "SHIPMENTS_API_URL": endpoints.shipments_api_url,
        # The instance storage (deploy/dagster.yaml) reads this secret itself and connects to DAGSTER_PG_HOST
        # (set per consumer: proxy or instance); the password never enters the environment.
        "DAGSTER_PG_SECRET_NAME": instance_db_secret.secret_arn,
    }
