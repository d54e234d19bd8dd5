"""The UploadRecords staging table in DynamoDB: bulk writes and reads of one upload's items.

`UploadRecordsResource` writes with the low-level client and several threads because one BatchWriteItem
call carries only 25 items: on a 100,000-row upload the round trips, not the bytes, set the pace. Its
`writer()` takes items one by one while the caller is still producing them (parsing, validating), so building
items overlaps the writes instead of preceding them.

Its DynamoDB client skips botocore's client-side parameter validation: the items are built by our own encoder
(`ecom_pipeline.product_uploads.records`, unit-tested against the wire format) and DynamoDB validates every request
anyway, while the client-side walk over 100,000 nested items cost about 0.17 ms of CPU per item, as much as
serializing and sending it.
"""

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.aws_clients import AwsClientResource

_BATCH_WRITE_LIMIT = 25
_BATCH_GET_LIMIT = 100


class ItemWriter:
    """Puts items as they come: 25 per BatchWriteItem, a bounded number of calls queued or in flight.

    The bound keeps a fast producer from holding every pending item in memory; `put` blocks on the oldest
    call when it is reached, and re-raises the first failed call's error there or in `flush`.
    """

    def __init__(self, pool: ThreadPoolExecutor, write_batch: Callable[[list[dict]], int], max_pending: int):
        self._pool = pool
        self._write_batch = write_batch
        self._max_pending = max_pending
        self._batch: list[dict] = []
        self._pending: deque[Future[int]] = deque()
        self.written = 0

    def put(self, item: dict[str, Any]) -> None:
        self._batch.append(item)
        if len(self._batch) == _BATCH_WRITE_LIMIT:
            self._submit()

    def put_all(self, items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            self.put(item)

    def flush(self) -> int:
        """Send the partial batch and wait for every call; returns the items written so far."""
        self._submit()
        while self._pending:
            self.written += self._pending.popleft().result()
        return self.written

    def cancel(self) -> None:
        """Drop what has not started; calls already in flight finish (puts are idempotent)."""
        self._batch = []
        for future in self._pending:
            future.cancel()

    def _submit(self) -> None:
        if not self._batch:
            return
        while len(self._pending) >= self._max_pending:
            self.written += self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._write_batch, self._batch))
        self._batch = []


class UploadRecordsResource(AwsClientResource):
    """The DynamoDB UploadRecords table (hash `upload_id`, range `record_id`), items in DynamoDB JSON."""

    table_name: str = Field(description="UploadRecords table name.")
    writer_threads: int = Field(default=4, description="Concurrent BatchWriteItem calls.")
    unprocessed_retries: int = Field(default=10, description="Retries of UnprocessedItems per batch.")

    def records_client(self) -> Any:
        """DynamoDB client for bulk item traffic: no client-side parameter validation, a connection per thread."""
        return self.client(
            "dynamodb", parameter_validation=False, max_pool_connections=max(10, self.writer_threads + 2)
        )

    @contextmanager
    def writer(self) -> Iterator[ItemWriter]:
        """An `ItemWriter` with `writer_threads` threads; flushed on leaving the block, cancelled on an error.

        After the block, `writer.written` is the number of items DynamoDB accepted.
        """
        client = self.records_client()
        threads = max(1, self.writer_threads)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="upload-records") as pool:
            writer = ItemWriter(pool, lambda batch: self._write_batch(client, batch), max_pending=2 * threads)
            try:
                yield writer
                writer.flush()
            except BaseException:
                writer.cancel()
                raise

    def write_items(self, items: Iterable[dict[str, Any]]) -> int:
        """Put every item (25 per call, `writer_threads` calls in flight); raises if any stay unprocessed."""
        with self.writer() as writer:
            writer.put_all(items)
        return writer.written

    def query_items(self, upload_id: str) -> list[dict]:
        """Every item of an upload (consistent read, all pages)."""
        client = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "upload_id = :u",
            "ExpressionAttributeValues": {":u": {"S": upload_id}},
            "ConsistentRead": True,
        }
        items: list[dict] = []
        while True:
            response = self._call(client.query, **kwargs)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def get_items(
        self, upload_id: str, record_ids: Sequence[str], attributes: Sequence[str] = ()
    ) -> list[dict]:
        """Items by key, 100 per BatchGetItem, `writer_threads` calls in flight; missing keys are left out.

        Preferred over a Query for a whole upload: the keys are known (REC_00001...) and every call costs the
        same, whereas each Query page re-reads the partition on some backends (moto: O(n) per page).
        """
        batches = [record_ids[i : i + _BATCH_GET_LIMIT] for i in range(0, len(record_ids), _BATCH_GET_LIMIT)]
        if not batches:
            return []
        client = self.records_client()
        with ThreadPoolExecutor(max_workers=self.writer_threads, thread_name_prefix="upload-records") as pool:
            parts = pool.map(lambda batch: self._get_batch(client, upload_id, batch, attributes), batches)
            return [item for part in parts for item in part]

    def _get_batch(
        self, client: Any, upload_id: str, record_ids: Sequence[str], attributes: Sequence[str]
    ) -> list[dict]:
        found: list[dict] = []
        keys_and_options: dict[str, Any] = {
            "Keys": [{"upload_id": {"S": upload_id}, "record_id": {"S": r}} for r in record_ids],
            "ConsistentRead": True,
        }
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            keys_and_options["ProjectionExpression"] = ", ".join(names)
            keys_and_options["ExpressionAttributeNames"] = names
        request: dict[str, Any] = {self.table_name: keys_and_options}
        for attempt in range(self.unprocessed_retries + 1):
            response = self._call(client.batch_get_item, RequestItems=request)
            found.extend(response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}  # carries the projection along
            if not request:
                return found
            time.sleep(min(0.05 * 2**attempt, 2.0))
        raise ServiceUnavailableError(
            f"DynamoDB left keys of {self.table_name!r} unprocessed after {self.unprocessed_retries} retries"
        )

    def _write_batch(self, client: Any, batch: Sequence[dict[str, Any]]) -> int:
        pending = [{"PutRequest": {"Item": item}} for item in batch]
        for attempt in range(self.unprocessed_retries + 1):
            response = self._call(client.batch_write_item, RequestItems={self.table_name: pending})
            pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not pending:
                return len(batch)
            time.sleep(min(0.05 * 2**attempt, 2.0))
        raise ServiceUnavailableError(
            f"DynamoDB left {len(pending)} items of {self.table_name!r} unprocessed after "
            f"{self.unprocessed_retries} retries"
        )

    def _call(self, method: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return method(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise ConfigurationError(f"DynamoDB table {self.table_name!r} does not exist") from None
            raise
