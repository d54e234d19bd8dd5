"""Create the AWS side the pipelines expect (buckets, tables, queues, topic, secrets), idempotently.

moto keeps its state in memory, so this runs on every `up`: after a moto restart it recreates
everything; with moto already bootstrapped it only confirms what exists and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from deploy.local.local_credentials import LocalCredentials
from deploy.local.postgres_server import SOURCE_DB, SOURCE_ROLE
from deploy.local.stack_config import HOST, LOCAL_AWS_KEY, REGION, StackConfig


def aws_session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=LOCAL_AWS_KEY, aws_secret_access_key=LOCAL_AWS_KEY, region_name=REGION
    )


def secret_values(config: StackConfig, credentials: LocalCredentials) -> dict[str, dict[str, Any]]:
    """Secret name -> JSON value. The RDS secret has seed 003's shape."""
    names = config.names
    return {
        names.rds_secret: {
            "username": SOURCE_ROLE,
            "password": credentials.ecom_db_password,
            "host": HOST,
            "port": config.pg_port,
            "dbname": SOURCE_DB,
        },
        names.api_key_secret: {"api_key": credentials.payments_api_key},
        names.influx_token_secret: {"token": credentials.influx_token},
    }


def bootstrap(config: StackConfig, credentials: LocalCredentials) -> dict[str, str]:
    """Ensure every resource exists; returns the queue URLs and topic ARN by env variable name."""
    session = aws_session()
    endpoint = config.moto_url
    s3 = session.client("s3", endpoint_url=endpoint)
    existing_buckets = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for bucket in config.names.buckets.values():
        if bucket not in existing_buckets:
            s3.create_bucket(Bucket=bucket)

    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    tables = set(dynamodb.list_tables().get("TableNames", []))
    if config.names.checkpoint_table not in tables:
        dynamodb.create_table(
            TableName=config.names.checkpoint_table,
            KeySchema=[{"AttributeName": "entity", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "entity", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    if config.names.upload_records_table not in tables:
        dynamodb.create_table(**upload_records_table_spec(config.names.upload_records_table))

    sqs = session.client("sqs", endpoint_url=endpoint)
    outputs = {
        variable: sqs.create_queue(QueueName=queue)["QueueUrl"]  # returns the existing queue's URL
        for variable, queue in config.names.queues.items()
    }
    sns = session.client("sns", endpoint_url=endpoint)
    outputs["NOTIFICATIONS_TOPIC_ARN"] = sns.create_topic(Name=config.names.notifications_topic)["TopicArn"]

    secretsmanager = session.client("secretsmanager", endpoint_url=endpoint)
    for name, value in secret_values(config, credentials).items():
        _ensure_secret(secretsmanager, name, json.dumps(value))
    return outputs


def upload_records_table_spec(name: str) -> dict[str, Any]:
    """CreateTable arguments of UploadRecords (keys and GSIs as docs/CONTRACTS.md); tests and benches reuse it."""

    def index(index_name: str, key: str) -> dict[str, Any]:
        return {
            "IndexName": index_name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }

    return {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "upload_id", "KeyType": "HASH"},
            {"AttributeName": "record_id", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("upload_id", "record_id", "vendor_id", "status")
        ],
        "GlobalSecondaryIndexes": [index("VendorIndex", "vendor_id"), index("StatusIndex", "status")],
        "BillingMode": "PAY_PER_REQUEST",
    }


def delete_bucket(s3: Any, bucket: str) -> None:
    """Empty a throwaway bucket page by page, then delete it (tests and benchmarks clean up with it)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def _ensure_secret(client: Any, name: str, value: str) -> None:
    try:
        current = client.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        client.create_secret(Name=name, SecretString=value)
        return
    if current != value:
        client.put_secret_value(SecretId=name, SecretString=value)
