"""Reading back what a test left in the local stack's PostgreSQL and SQS."""

import json
from typing import Any

import boto3
import psycopg2
from psycopg2 import sql


def fetch_row(dsn: str, schema: str, table: str, column: str, value: Any) -> dict | None:
    """The row of `schema.table` whose `column` equals `value`, as a dict, or None."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT * FROM {}.{} WHERE {} = %s").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
            ),
            [value],
        )
        row = cur.fetchone()
        result = dict(zip([d.name for d in cur.description], row, strict=True)) if row else None
    conn.close()
    return result


def drain_queue(queue_url: str, client: Any | None = None) -> list[dict]:
    """Receive and delete every message of a queue; returns the JSON bodies in arrival order."""
    client = client or boto3.client("sqs")
    bodies: list[dict] = []
    while True:
        messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
