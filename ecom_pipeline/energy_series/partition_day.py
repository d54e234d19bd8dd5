"""The time range of a (dataset, day) partition: what the day check compares against and what is read back.

A partition's day is the UTC calendar day; timestamps are nanoseconds since the epoch, as the converter
writes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np

_NS_PER_MS = 1_000_000


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


def readback_range_ns(day: date, timestamps_ns: np.ndarray) -> tuple[int, int]:
    """[start, end) to read back: the day, widened to cover written points outside it (which the day check
    reports), so the server's count is compared with every point written."""
    start_ns, end_ns = day_bounds_ns(day)
    if len(timestamps_ns):
        start_ns, end_ns = min(start_ns, int(timestamps_ns.min())), max(end_ns, int(timestamps_ns.max()) + 1)
    return start_ns, end_ns


def ns_to_ms_range(start_ns: int, end_ns: int) -> tuple[int, int]:
    """A nanosecond range as the millisecond range that contains it (the server keeps milliseconds)."""
    return start_ns // _NS_PER_MS, -(-end_ns // _NS_PER_MS)


def iso_utc(ns: int) -> str:
    """A nanosecond timestamp as ISO 8601 in UTC."""
    return datetime.fromtimestamp(ns / 10**9, tz=UTC).isoformat()
