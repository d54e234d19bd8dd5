"""Fixtures of the metric import tests: an isolated schema, bucket, DLQ and topic per test, on the real stack.

The fixtures are registered for tests/assets/metric_imports by its conftest.py; tests/sensors/test_metric_imports.py
imports `import_env_fixture` (registered as fixture `import_env`) and `source_schema` by name.
"""

import functools
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg2
import pytest
from dagster import DagsterInstance, materialize
from psycopg2 import sql

from assets.metric_imports.assets import imported_metrics
from assets.partitions import metric_import_file_partitions, partition_range_tags
from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.sources.database import apply_schema, create_metric_import_sandbox, drop_schema
from ecom_pipeline.metric_imports.selection import FileVersion
from resources import build_resources
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import ImportTables, record_failure
from tests.live_stack import drain_queue, fetch_row


@functools.cache
def _client(service: str) -> Any:
    return boto3.client(service)


def metric_records(count: int, name: str = "cpu", start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    return [
        {
            "name": f"{name}_{i % 7}",
            "value": round(i * 0.25, 2),
            "timestamp": (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
        }
        for i in range(count)
    ]


@dataclass
class ImportEnv:
    """One test's private slice of the stack."""

    schema: str
    bucket: str
    dlq_url: str
    topic_arn: str
    notifications_queue_url: str
    config: MetricImportsConfig
    instance: DagsterInstance
    dsn: str = field(repr=False)  # carries the local password

    def put(self, key: str, body: bytes | list | dict | str) -> str:
        """Upload a file; returns its bare ETag."""
        data = (
            body
            if isinstance(body, bytes)
            else json.dumps(body).encode()
            if not isinstance(body, str)
            else body.encode()
        )
        etag = _client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)["ETag"]
        return etag.strip('"')

    def record_failure(self, key: str, etag: str, error: str) -> None:
        """A ledger row saying an earlier run's import of this version failed (what the sweep retries)."""
        conn = psycopg2.connect(self.dsn)
        with conn:
            record_failure(
                conn,
                ImportTables(self.schema),
                FileVersion(self.bucket, key, etag, 10),
                error,
                run_id="earlier-run",
            )
        conn.close()

    def run(self, key: str, config: MetricImportsConfig | None = None):
        """Materialize one file's partition the way a sensor-launched run would."""
        if not self.instance.has_dynamic_partition(metric_import_file_partitions.name, key):
            self.instance.add_dynamic_partitions(metric_import_file_partitions.name, [key])
        resources = build_resources() | {"metric_imports_config": config or self.config}
        return materialize(
            [imported_metrics],
            partition_key=key,
            resources=resources,
            instance=self.instance,
            raise_on_error=False,
        )

    def run_range(self, keys: list[str]):
        """Materialize a range of file partitions in one run, as a sensor batch or a backfill does."""
        new = [
            k for k in keys if not self.instance.has_dynamic_partition(metric_import_file_partitions.name, k)
        ]
        self.instance.add_dynamic_partitions(metric_import_file_partitions.name, new)
        resources = build_resources() | {"metric_imports_config": self.config}
        return materialize(
            [imported_metrics],
            resources=resources,
            instance=self.instance,
            raise_on_error=False,
            tags=partition_range_tags(keys[0], keys[-1]),
        )

    def query(self, statement: str, params: list | None = None) -> list[tuple]:
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL(statement).format(schema=sql.Identifier(self.schema)), params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    def rows_of(self, key: str) -> int:
        return self.query("SELECT count(*) FROM {schema}.metrics WHERE source_file = %s", [key])[0][0]

    def ledger(self, key: str) -> dict | None:
        return fetch_row(self.dsn, self.schema, "metric_import_files", "file_key", key)

    def dlq_messages(self, queue_url: str | None = None) -> list[dict]:
        """Drain a queue (the DLQ by default) and return the JSON bodies."""
        return drain_queue(queue_url or self.dlq_url, _client("sqs"))

    def notifications(self) -> list[dict]:
        """SNS notifications delivered to the test's subscribed queue (raw delivery off: SNS envelope)."""
        return [
            json.loads(envelope["Message"]) for envelope in self.dlq_messages(self.notifications_queue_url)
        ]

    def metric_sums(self) -> dict[str, float]:
        """Sum of every CloudWatch metric the imports published under the test's namespace."""
        client = _client("cloudwatch")
        now = datetime.now(UTC)
        sums: dict[str, float] = {}
        for metric in client.list_metrics(Namespace=self.config.cloudwatch_namespace)["Metrics"]:
            points = client.get_metric_statistics(
                Namespace=self.config.cloudwatch_namespace,
                MetricName=metric["MetricName"],
                Dimensions=metric["Dimensions"],
                StartTime=now - timedelta(hours=1),
                EndTime=now + timedelta(minutes=5),
                Period=3600,
                Statistics=["Sum"],
            )["Datapoints"]
            sums[metric["MetricName"]] = sum(p["Sum"] for p in points)
        return sums

    def object_keys(self, prefix: str) -> list[str]:
        response = _client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in response.get("Contents", []))


@pytest.fixture(scope="session")
def source_schema(stack_env) -> None:
    """`public.metrics` (and the ledger) exist: the DDL files are idempotent and applied under a lock."""
    apply_schema(os.environ["ECOM_SOURCE_DSN"])


@pytest.fixture(name="import_env")
def import_env_fixture(source_schema) -> Iterator[ImportEnv]:
    suffix = uuid.uuid4().hex[:10]
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema = f"test_metric_imports_{suffix}"
    bucket = f"test-metric-imports-{suffix}"
    s3, sqs, sns = _client("s3"), _client("sqs"), _client("sns")
    create_metric_import_sandbox(dsn, schema)
    s3.create_bucket(Bucket=bucket)
    dlq_url = sqs.create_queue(QueueName=f"test-metric-import-dlq-{suffix}")["QueueUrl"]
    notifications_url = sqs.create_queue(QueueName=f"test-metric-import-notes-{suffix}")["QueueUrl"]
    topic_arn = sns.create_topic(Name=f"test-metric-import-topic-{suffix}")["TopicArn"]
    notifications_arn = sqs.get_queue_attributes(QueueUrl=notifications_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=notifications_arn)
    config = MetricImportsConfig(
        bucket=bucket,
        dlq_url=dlq_url,
        notifications_topic_arn=topic_arn,
        db_schema=schema,
        db_retry_base_seconds=0.05,
        max_file_bytes=200_000,
        cloudwatch_namespace=f"Test/MetricImports/{suffix}",
        environment="test",
    )
    instance = DagsterInstance.ephemeral()
    try:
        yield ImportEnv(schema, bucket, dlq_url, topic_arn, notifications_url, config, instance, dsn)
    finally:
        instance.dispose()
        drop_schema(dsn, schema)
        delete_bucket(s3, bucket)
        for url in (dlq_url, notifications_url):
            sqs.delete_queue(QueueUrl=url)
        sns.delete_topic(TopicArn=topic_arn)


def pipeline_definitions(config: Any) -> Any:
    """Just this pipeline (asset, job, sensor, sweep) with a test's config, so run requests and ticks resolve
    against the test's bucket, schema and queues."""
    from dagster import Definitions

    from assets.metric_imports import metric_imports_job
    from assets.metric_imports.assets import imported_metrics
    from resources import build_resources
    from sensors.metric_imports import metric_imports_sensor, metric_imports_sweep_schedule

    shared = build_resources()
    return Definitions(
        assets=[imported_metrics],
        jobs=[metric_imports_job],
        sensors=[metric_imports_sensor],
        schedules=[metric_imports_sweep_schedule],
        resources={key: shared[key] for key in ("rds", "sqs", "sns", "cloudwatch")}
        | {"metric_imports_config": config},
    )
