"""DynamoDB, SQS, SNS and CloudWatch metrics: the batched calls the pipelines make."""

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.aws_clients import AwsClientResource

_DYNAMODB_BATCH = 25  # BatchWriteItem limit
_SQS_BATCH = 10  # SendMessageBatch limit
_METRICS_BATCH = 500  # PutMetricData allows 1000 datums / 1 MB per call; stay well inside


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class DynamoDBResource(AwsClientResource):
    """DynamoDB tables; `batch_put` retries unprocessed items so no staged row is silently dropped."""

    unprocessed_retries: int = 8

    def table(self, name: str) -> Any:
        return self.dynamodb_resource().Table(name)

    def batch_put(self, table_name: str, items: Sequence[dict[str, Any]]) -> int:
        """Write items (Decimal for numbers) 25 at a time; returns the count written, raises if any remain."""
        resource = self.dynamodb_resource()
        written = 0
        for chunk in _chunks(list(items), _DYNAMODB_BATCH):
            pending = [{"PutRequest": {"Item": item}} for item in chunk]
            for attempt in range(self.unprocessed_retries + 1):
                try:
                    response = resource.batch_write_item(RequestItems={table_name: pending})
                except ClientError as exc:
                    if _error_code(exc) == "ResourceNotFoundException":
                        raise ConfigurationError(f"DynamoDB table {table_name!r} does not exist") from None
                    raise
                pending = response.get("UnprocessedItems", {}).get(table_name, [])
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            if pending:
                raise ServiceUnavailableError(
                    f"DynamoDB left {len(pending)} items of {table_name!r} unprocessed after "
                    f"{self.unprocessed_retries} retries"
                )
            written += len(chunk)
        return written


class SqsResource(AwsClientResource):
    """SQS queues for rejected rows and dead letters."""

    def send_messages(self, queue_url: str, bodies: Sequence[dict[str, Any]]) -> int:
        """Send JSON bodies 10 per call; failed entries are retried once, then raise naming the queue."""
        client = self.client("sqs")
        sent = 0
        for chunk in _chunks(list(bodies), _SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body, default=str, ensure_ascii=False)}
                for i, body in enumerate(chunk)
            ]
            for _attempt in range(2):
                try:
                    response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
                except ClientError as exc:
                    if _error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                        raise ConfigurationError(f"SQS queue {queue_url!r} does not exist") from None
                    raise
                failed_ids = {f["Id"] for f in response.get("Failed", [])}
                sent += len(entries) - len(failed_ids)
                entries = [e for e in entries if e["Id"] in failed_ids]
                if not entries:
                    break
            if entries:
                raise ServiceUnavailableError(f"SQS refused {len(entries)} messages for {queue_url!r}")
        return sent


class SnsResource(AwsClientResource):
    """SNS notifications (upload summaries, failed imports)."""

    def publish(self, topic_arn: str, subject: str, message: dict[str, Any]) -> str:
        try:
            response = self.client("sns").publish(
                TopicArn=topic_arn,
                Subject=subject[:100],  # SNS subject limit
                Message=json.dumps(message, default=str, ensure_ascii=False),
            )
        except ClientError as exc:
            if _error_code(exc) == "NotFound":
                raise ConfigurationError(f"SNS topic {topic_arn!r} does not exist") from None
            raise
        return response["MessageId"]


@dataclass(frozen=True)
class Metric:
    """One CloudWatch datum."""

    name: str
    value: float
    unit: str = "Count"
    dimensions: dict[str, str] = field(default_factory=dict)


class CloudWatchMetricsResource(AwsClientResource):
    """Custom metrics, sent in as few PutMetricData calls as the limits allow."""

    enabled: bool = True

    def put_metrics(self, namespace: str, metrics: Sequence[Metric]) -> int:
        if not self.enabled or not metrics:
            return 0
        client = self.client("cloudwatch")
        for chunk in _chunks(list(metrics), _METRICS_BATCH):
            client.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {
                        "MetricName": m.name,
                        "Value": float(m.value),
                        "Unit": m.unit,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions.items()],
                    }
                    for m in chunk
                ],
            )
        return len(metrics)
