"""The time range of a (dataset, day) partition: what the day check compares against and what is read back.

A partition's day is the UTC calendar day; timestamps are nanoseconds since the epoch, as the converter
writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np


def day_bounds_ns(day: date) -> tuple[int, int]:
    """[start, end) of the UTC day in nanoseconds."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    return int(start.timestamp()) * 10**9, int(end.timestamp()) * 10**9


def points_outside_day(day: date, timestamps_ns: np.ndarray) -> int:
    """How many timestamps fall outside the partition's day."""
    if not len(timestamps_ns):
        return 0
    start, end = day_bounds_ns(day)
    return int(((timestamps_ns < start) | (timestamps_ns >= end)).sum())


@dataclass
class TimestampSummary:
    """What the checks need of the written timestamps, kept in constant memory while chunks stream by."""

    day: date
    count: int = 0
    outside_day: int = 0
    min_ns: int | None = None
    max_ns: int | None = None

    @classmethod
    def of(cls, day: date, timestamps_ns: np.ndarray) -> TimestampSummary:
        summary = cls(day)
        summary.add(timestamps_ns)
        return summary

    def add(self, timestamps_ns: np.ndarray) -> None:
        if not len(timestamps_ns):
            return
        self.count += len(timestamps_ns)
        self.outside_day += points_outside_day(self.day, timestamps_ns)
        low, high = int(timestamps_ns.min()), int(timestamps_ns.max())
        self.min_ns = low if self.min_ns is None else min(self.min_ns, low)
        self.max_ns = high if self.max_ns is None else max(self.max_ns, high)


def readback_range_ns(summary: TimestampSummary) -> tuple[int, int]:
    """[start, end) to read back: the day, widened to cover written points outside it (which the day check
    reports), so the server's count is compared with every point written."""
    start_ns, end_ns = day_bounds_ns(summary.day)
    if summary.min_ns is not None and summary.max_ns is not None:
        start_ns, end_ns = min(start_ns, summary.min_ns), max(end_ns, summary.max_ns + 1)
    return start_ns, end_ns


def iso_utc(ns: int) -> str:
    """A nanosecond timestamp as ISO 8601 in UTC."""
    return datetime.fromtimestamp(ns / 10**9, tz=UTC).isoformat()
