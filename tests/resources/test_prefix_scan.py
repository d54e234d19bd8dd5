"""`scan_prefix` (the bounded tick of the metric imports and energy series sensors) on the stack's S3."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from deploy.local.aws_bootstrap import delete_bucket
from ecom_pipeline.sensor_cursors import PrefixScanCursor
from resources.s3_objects import scan_prefix

OBJECTS = 1_100  # two reconciliation pages of 1,000


class CountingClient:
    """The real client, counting ListObjectsV2 calls and the keys they returned."""

    def __init__(self, client: Any) -> None:
        self._client, self.calls, self.keys = client, 0, 0

    def list_objects_v2(self, **kwargs: Any) -> dict:
        response = self._client.list_objects_v2(**kwargs)
        self.calls += 1
        self.keys += len(response.get("Contents", ()))
        return response


@pytest.fixture
def bucket(stack_env):
    name = f"test-prefix-scan-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(lambda i: s3.put_object(Bucket=name, Key=f"in/f{i:05d}.json", Body=b""), range(OBJECTS))
        )
    yield name
    delete_bucket(s3, name)


def tick(client: CountingClient, bucket: str, cursor: PrefixScanCursor, now: datetime):
    return scan_prefix(client, bucket, "in/", ["in/"], cursor, now, budget=500)


def test_a_steady_tick_lists_two_pages_whatever_the_bucket_holds_and_finds_stragglers_once(bucket):
    s3 = boto3.client("s3")
    client = CountingClient(s3)
    now = datetime.now(UTC)
    cursor = PrefixScanCursor()
    # Catching up from no cursor: at most `budget` new keys per tick, in key order.
    first = tick(client, bucket, cursor, now)
    assert [o.key for o in first.fast] == [f"in/f{i:05d}.json" for i in range(500)]
    while len(tick(client, bucket, cursor, now).fast) == 500:
        pass
    assert cursor.after["in/"] == f"in/f{OBJECTS - 1:05d}.json"

    # Steady state: a quiet tick is one fast-path call and one reconciliation page, never the whole bucket.
    for _ in range(3):
        client.calls = client.keys = 0
        quiet = tick(client, bucket, cursor, now)
        assert quiet.fast == [] and quiet.swept == []
        assert client.calls == 2 and client.keys <= 1_000

    # A key named before the cursor and an overwritten key: found by the reconciliation within one pass,
    # offered once (the pass after does not offer them again).
    s3.put_object(Bucket=bucket, Key="in/a-late.json", Body=b"late")
    s3.put_object(Bucket=bucket, Key="in/f00500.json", Body=b"new content")
    found: list[str] = []
    for _ in range(2 * (OBJECTS // 1000 + 1)):  # two passes
        scan = tick(client, bucket, cursor, now + timedelta(seconds=30))
        assert scan.fast == []
        for obj in scan.swept:
            cursor.offer(obj)
        found += [obj.key for obj in scan.swept]
    assert sorted(found) == ["in/a-late.json", "in/f00500.json"]
    assert cursor.passes >= 2
