"""`ItemWriter`: batches of 25, a bounded queue, errors re-raised (no DynamoDB needed)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from resources.product_uploads.upload_records_table import ItemWriter


class RecordingBatches:
    """Stands in for BatchWriteItem: records batch sizes and the most calls seen queued or running."""

    def __init__(self, fail_on_call: int | None = None, delay: float = 0.0):
        self.sizes: list[int] = []
        self.fail_on_call = fail_on_call
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, batch: list[dict]) -> int:
        time.sleep(self.delay)
        with self.lock:
            self.sizes.append(len(batch))
            if self.fail_on_call is not None and len(self.sizes) == self.fail_on_call:
                raise RuntimeError("DynamoDB said no")
        return len(batch)


def test_items_go_out_25_per_call_and_all_are_counted():
    calls = RecordingBatches()
    with ThreadPoolExecutor(max_workers=3) as pool:
        writer = ItemWriter(pool, calls, max_pending=2)
        writer.put_all({"n": n} for n in range(101))
        assert writer.flush() == 101
    assert sorted(calls.sizes) == [1, 25, 25, 25, 25]


def test_put_waits_once_the_pending_bound_is_reached():
    calls = RecordingBatches(delay=0.02)
    with ThreadPoolExecutor(max_workers=1) as pool:
        writer = ItemWriter(pool, calls, max_pending=2)
        writer.put_all({"n": n} for n in range(25 * 6))
        assert len(writer._pending) <= 2  # the producer never ran more than two calls ahead
        assert writer.flush() == 150


def test_a_failed_call_is_raised_to_the_producer():
    calls = RecordingBatches(fail_on_call=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = ItemWriter(pool, calls, max_pending=2)
        with pytest.raises(RuntimeError, match="DynamoDB said no"):
            writer.put_all({"n": n} for n in range(25 * 10))
            writer.flush()
        writer.cancel()
