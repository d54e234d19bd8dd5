"""Buckets, tables, queues, topic and secrets: contract names with the suffix, dev/prod differences."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.deploy.cdk.conftest import Synthesized
from tests.deploy.cdk.template_refs import readable

FOURTEEN_DAYS_S = 14 * 24 * 3600


def test_buckets_are_private_encrypted_tls_only_and_named_per_account_and_suffix(dev: Synthesized) -> None:
    template = dev.templates["DataStores"]
    buckets = template.find_resources("AWS::S3::Bucket")
    names = sorted(readable(b["Properties"]["BucketName"]) for b in buckets.values())
    assert names == sorted(
        f"{base}-${{AWS::AccountId}}-dev"
        for base in (
            "ecom-lake",
            "ecom-product-uploads",
            "ecom-energy-series",
            "ecom-metric-imports",
            "ecom-dagster-logs",
        )
    )
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        assert "VersioningConfiguration" not in properties  # dev: disposable
        assert bucket["DeletionPolicy"] == "Delete"
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == len(buckets)
    for policy in policies.values():
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_operational_logs_expire_and_data_does_not(dev: Synthesized) -> None:
    template = dev.templates["DataStores"]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.object_like({"Fn::Join": ["", Match.array_with(["-dev"])]}),
            "LifecycleConfiguration": {
                "Rules": [{"ExpirationInDays": 7, "Id": "expire-operational-logs", "Status": "Enabled"}]
            },
        },
    )
    with_lifecycle = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"LifecycleConfiguration": Match.any_value()}}
    )
    assert sorted(readable(b["Properties"]["BucketName"]) for b in with_lifecycle.values()) == [
        "ecom-dagster-logs-${AWS::AccountId}-dev",
        "ecom-lake-${AWS::AccountId}-dev",
    ]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "ExpirationInDays": 2,
                        "Id": "expire-bronze-staging",
                        "Prefix": "staging/bronze/",
                        "Status": "Enabled",
                    }
                ]
            }
        },
    )


def test_checkpoint_table(dev: Synthesized) -> None:
    dev.templates["DataStores"].has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": "ecom-bronze-checkpoints-dev",
            "KeySchema": [{"AttributeName": "entity", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "entity", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_upload_records_table_with_vendor_and_status_indexes(dev: Synthesized) -> None:
    dev.templates["DataStores"].has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": "UploadRecords-dev",
            "KeySchema": [
                {"AttributeName": "upload_id", "KeyType": "HASH"},
                {"AttributeName": "record_id", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "VendorIndex",
                    "KeySchema": [{"AttributeName": "vendor_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "StatusIndex",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": "vendor_id", "AttributeType": "S"},
                    {"AttributeName": "status", "AttributeType": "S"},
                ]
            ),
        },
    )


def test_queues_keep_messages_14_days_encrypted_and_tls_only(dev: Synthesized) -> None:
    template = dev.templates["DataStores"]
    queues = template.find_resources("AWS::SQS::Queue")
    assert sorted(q["Properties"]["QueueName"] for q in queues.values()) == [
        "ecom-metric-import-dlq-dev",
        "ecom-upload-errors-dev",
        "lambda-dlq-dev",
    ]
    for queue in queues.values():
        assert queue["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS_S
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert len(template.find_resources("AWS::SQS::QueuePolicy")) == 3


def test_notifications_topic(dev: Synthesized) -> None:
    template = dev.templates["DataStores"]
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.has_resource_properties("AWS::SNS::Topic", {"TopicName": "ecom-pipeline-notifications-dev"})


def test_secrets_created_for_the_pipeline_and_the_source_db_secret_imported(dev: Synthesized) -> None:
    template = dev.templates["DataStores"]
    template.resource_count_is("AWS::SecretsManager::Secret", 2)
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "ecom-payments-api-key-dev",
            "GenerateSecretString": {
                "SecretStringTemplate": "{}",
                "GenerateStringKey": "api_key",
                "PasswordLength": 48,
                "ExcludePunctuation": True,
                "IncludeSpace": False,
            },
        },
    )
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "ecom/influxdb/token-dev",
            "GenerateSecretString": Match.object_like({"GenerateStringKey": "token"}),
        },
    )


def test_prod_retains_and_versions_data(prod: Synthesized) -> None:
    template = prod.templates["DataStores"]
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    for table in template.find_resources("AWS::DynamoDB::GlobalTable").values():
        assert table["DeletionPolicy"] == "Retain"
        replica = table["Properties"]["Replicas"][0]
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    for kind in ("AWS::SQS::Queue", "AWS::SecretsManager::Secret"):
        assert all(r["DeletionPolicy"] == "Retain" for r in template.find_resources(kind).values())
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": 30})]}},
    )


def test_outputs(dev: Synthesized) -> None:
    outputs = dev.json("DataStores")["Outputs"]
    assert {
        "LakeBucketName",
        "UploadsBucketName",
        "SeriesBucketName",
        "ImportsBucketName",
        "DagsterLogsBucketName",
        "CheckpointTableArn",
        "UploadRecordsTableArn",
        "UploadErrorsQueueUrl",
        "MetricImportDlqUrl",
        "LambdaDlqUrl",
        "NotificationsTopicArn",
        "PaymentsApiKeySecretArn",
        "InfluxDbTokenSecretArn",
    } <= set(outputs)
    assert readable(outputs["LambdaDlqUrl"]["Value"]) == "LambdaDlq"
