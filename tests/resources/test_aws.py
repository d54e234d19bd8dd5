import json
from decimal import Decimal

import boto3
import pytest

from ecom_pipeline.errors import ConfigurationError
from resources.aws import CloudWatchMetricsResource, DynamoDBResource, Metric, SnsResource, SqsResource


@pytest.fixture
def dynamo_table(stack_env, unique):
    client = boto3.client("dynamodb")
    name = f"test-{unique}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    client.delete_table(TableName=name)


@pytest.fixture
def queue_url(stack_env, unique):
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=f"test-{unique}")["QueueUrl"]
    yield url
    client.delete_queue(QueueUrl=url)


def test_dynamodb_batch_put_writes_every_item(dynamo_table) -> None:
    items = [{"pk": f"item-{i:03d}", "price": Decimal("19.99"), "n": i} for i in range(60)]
    assert DynamoDBResource().batch_put(dynamo_table, items) == 60
    table = boto3.resource("dynamodb").Table(dynamo_table)
    stored = table.scan()["Items"]
    assert len(stored) == 60
    assert {item["price"] for item in stored} == {Decimal("19.99")}


def test_dynamodb_missing_table_is_named(stack_env) -> None:
    with pytest.raises(ConfigurationError, match="'no-such-table'"):
        DynamoDBResource().batch_put("no-such-table", [{"pk": "x"}])


def test_sqs_sends_in_batches_and_nothing_is_lost(queue_url) -> None:
    bodies = [{"row": i, "reason": "price must be > 0", "name": "Zoë"} for i in range(23)]
    assert SqsResource().send_messages(queue_url, bodies) == 23
    client = boto3.client("sqs")
    received = []
    for _ in range(10):
        batch = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        received += [json.loads(m["Body"]) for m in batch]
        if len(received) >= 23:
            break
    assert sorted(m["row"] for m in received) == list(range(23))
    assert received[0]["name"] == "Zoë"


def test_sns_publish_reaches_a_subscribed_queue(queue_url, unique) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name=f"test-{unique}")["TopicArn"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    SnsResource().publish(topic, "upload completed", {"upload_id": "u1", "valid": 3})
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert messages, "the SNS message did not reach the subscribed queue"
    envelope = json.loads(messages[0]["Body"])
    assert json.loads(envelope["Message"]) == {"upload_id": "u1", "valid": 3}


def test_cloudwatch_metrics_are_batched_past_the_call_limit(stack_env, unique) -> None:
    namespace = f"Test/{unique}"
    metrics = [Metric(f"M{i % 3}", i, dimensions={"UploadId": "u1"}) for i in range(1200)]
    assert CloudWatchMetricsResource().put_metrics(namespace, metrics) == 1200
    names = {m["MetricName"] for m in boto3.client("cloudwatch").list_metrics(Namespace=namespace)["Metrics"]}
    assert names == {"M0", "M1", "M2"}
