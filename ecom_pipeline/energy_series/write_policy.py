"""How points reach InfluxDB: batches, retries with exponential backoff, one-at-a-time fallback.

The policy is a plain function over a `write(payload)` callable, so it is tested against the real server
without Dagster, and the error types stay the caller's: `transient` errors (connection, 5xx) are retried and
finally raised as WriteUnavailableError; `rejected` errors (400) are never retried as a batch, the batch's
points are written one by one instead so that one bad point does not sink the other 999.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ecom_pipeline.energy_series.line_protocol import LineProtocol

MAX_REJECTED_KEPT = 50  # rejected points kept with their error text; the count is always exact


@dataclass(frozen=True)
class RejectedPoint:
    index: int
    line: str
    error: str


@dataclass
class WriteReport:
    points_written: int = 0
    batches_processed: int = 0
    failed_batches: int = 0  # batches the server refused whole, then written one point at a time
    retries: int = 0
    rejected_count: int = 0
    rejected: list[RejectedPoint] = field(default_factory=list)

    def merge(self, other: WriteReport) -> None:
        self.points_written += other.points_written
        self.batches_processed += other.batches_processed
        self.failed_batches += other.failed_batches
        self.retries += other.retries
        self.rejected_count += other.rejected_count
        self.rejected += other.rejected[: max(0, MAX_REJECTED_KEPT - len(self.rejected))]

    @property
    def success_rate(self) -> float:
        """Share of batches written whole (the SuccessRate metric)."""
        if self.batches_processed == 0:
            return 1.0
        return (self.batches_processed - self.failed_batches) / self.batches_processed


class WriteUnavailableError(Exception):
    """The server stayed unreachable after every retry; `report` holds what was written before."""

    def __init__(self, message: str, report: WriteReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class RetrySettings:
    max_retries: int = 3
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based): backoff, 2x backoff, 4x backoff, ..."""
        return min(self.backoff_seconds * (2 ** (retry - 1)), self.max_backoff_seconds)


def _with_retries(
    write: Callable[[bytes], object],
    payload: bytes,
    settings: RetrySettings,
    transient: tuple[type[BaseException], ...],
    report: WriteReport,
    sleep: Callable[[float], None],
) -> None:
    for attempt in range(settings.max_retries + 1):
        try:
            write(payload)
            return
        except transient as exc:
            if attempt == settings.max_retries:
                raise WriteUnavailableError(
                    f"time-series server unavailable after {settings.max_retries} retries: {exc}", report
                ) from exc
            report.retries += 1
            sleep(settings.delay(attempt + 1))


def write_in_batches(
    points: LineProtocol,
    write: Callable[[bytes], object],
    *,
    batch_size: int,
    retry: RetrySettings,
    transient: tuple[type[BaseException], ...],
    rejected: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
    first_index: int = 0,
) -> WriteReport:
    """Write every point, batch by batch; returns counts, raises WriteUnavailableError when unreachable.

    `first_index` numbers the points of this call within a larger stream (for rejected-point reports).
    """
    report = WriteReport()
    for start, stop in points.batches(batch_size):
        report.batches_processed += 1
        try:
            _with_retries(write, points.lines(start, stop), retry, transient, report, sleep)
            report.points_written += stop - start
            continue
        except rejected:
            report.failed_batches += 1
        for index in range(start, stop):
            line = points.line(index)
            try:
                _with_retries(write, line, retry, transient, report, sleep)
                report.points_written += 1
            except rejected as exc:
                report.rejected_count += 1
                if len(report.rejected) < MAX_REJECTED_KEPT:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    report.rejected.append(
                        RejectedPoint(index=first_index + index, line=text[:300], error=str(exc)[:500])
                    )
    return report


def write_stream(
    chunks: Iterable[LineProtocol],
    write: Callable[[bytes], object],
    *,
    batch_size: int,
    retry: RetrySettings,
    transient: tuple[type[BaseException], ...],
    rejected: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
) -> WriteReport:
    """`write_in_batches` over a stream of chunks, converting the next chunk while one thread writes the last.

    Writing waits on the network and Arrow releases the GIL while converting, so the two overlap; at most
    two chunks are held at a time. An unavailable server stops the stream (WriteUnavailableError).
    """
    report = WriteReport()
    written_before = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="series-writer") as writer:
        pending: Future[WriteReport] | None = None
        for chunk in chunks:
            if pending is not None:
                report.merge(pending.result())
            pending = writer.submit(
                write_in_batches,
                chunk,
                write,
                batch_size=batch_size,
                retry=retry,
                transient=transient,
                rejected=rejected,
                sleep=sleep,
                first_index=written_before,
            )
            written_before += len(chunk)
        if pending is not None:
            report.merge(pending.result())
    return report
