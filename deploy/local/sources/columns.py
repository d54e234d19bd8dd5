"""Column-wise building blocks: seeded RNGs and vectorised Arrow columns.

Everything is built with numpy/pyarrow compute, never row by row, so a million orders take seconds.
Every RNG is derived from (seed, stream name, chunk index) so a chunk's data does not depend on how many
chunks came before it: the same arguments always give byte-identical output.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MICROS = 1_000_000
DAY_MICROS = 86_400 * MICROS
DEFAULT_START = date(2026, 11, 1)
DEFAULT_END = date(2026, 11, 20)
_CENT = pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))


def rng_for(seed: int, stream: str, chunk: int = 0) -> np.random.Generator:
    """An independent, reproducible RNG per (seed, stream, chunk)."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), chunk])


@dataclass(frozen=True)
class TimeWindow:
    """The days `updated_at` values fall in: [start 00:00 UTC, end + 1 day 00:00 UTC)."""

    start: date = DEFAULT_START
    end: date = DEFAULT_END

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"time window end {self.end} is before start {self.start}")

    @property
    def start_micros(self) -> int:
        return micros_of(self.start)

    @property
    def span_micros(self) -> int:
        return ((self.end - self.start).days + 1) * DAY_MICROS

    def day_boundaries(self) -> np.ndarray:
        """Midnight of every day after the first: the partition edges a `>=` filter must get right."""
        days = (self.end - self.start).days + 1
        return self.start_micros + np.arange(1, days, dtype=np.int64) * DAY_MICROS


def updated_at_micros(rng: np.random.Generator, n: int, window: TimeWindow) -> np.ndarray:
    """Epoch microseconds inside the window: mostly whole seconds, some with microseconds, and ~6% of
    rows on a few shared instants (day boundaries among them) so equal timestamps are common."""
    seconds = rng.integers(0, window.span_micros // MICROS, size=n, dtype=np.int64)
    values = window.start_micros + seconds * MICROS
    with_fraction = rng.random(n) < 0.3
    values = values + np.where(with_fraction, rng.integers(1, MICROS, size=n, dtype=np.int64), 0)
    hot = np.concatenate(
        [
            window.day_boundaries()[:4],
            window.start_micros + np.array([1, 3_600, 43_200], dtype=np.int64) * MICROS,
        ]
    )
    shared = rng.random(n) < 0.06
    return np.where(shared, hot[rng.integers(0, len(hot), size=n)], values)


def earlier_micros(
    rng: np.random.Generator, later: np.ndarray, max_days: int, same_share: float
) -> np.ndarray:
    """A timestamp before `later` (up to `max_days` earlier); `same_share` of rows keep the same instant
    (records never updated since creation)."""
    n = len(later)
    back = rng.integers(0, max_days * 86_400, size=n, dtype=np.int64) * MICROS
    return np.where(rng.random(n) < same_share, later, later - back)


def timestamps(micros: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """timestamp[us, UTC] column; rows where `mask` is True become NULL."""
    return pa.array(micros, pa.int64(), mask=mask).cast(pa.timestamp("us", tz="UTC"))


def money(cents: np.ndarray, mask: np.ndarray | None = None, precision: int = 12) -> pa.Array:
    """numeric(precision, 2) column from integer cents, exact (no float rounding)."""
    whole = pa.array(cents, pa.int64(), mask=mask).cast(pa.decimal128(19, 0))
    return pc.multiply(whole, _CENT).cast(pa.decimal128(precision, 2))


def thousandths(values: np.ndarray, precision: int = 10) -> pa.Array:
    """numeric(precision, 3) column from integer thousandths (weights in grams -> kg)."""
    whole = pa.array(values, pa.int64()).cast(pa.decimal128(19, 0))
    return pc.multiply(whole, pa.scalar(Decimal("0.001"), pa.decimal128(4, 3))).cast(
        pa.decimal128(precision, 3)
    )


def pick(options: tuple[str, ...] | list[str], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """String column taking options[index[i]]; rows where `mask` is True become NULL."""
    taken = pa.array(list(options), pa.string()).take(pa.array(index, pa.int64()))
    if mask is None:
        return taken
    return pc.if_else(pa.array(mask), pa.nulls(len(taken), pa.string()), taken)


def text(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string columns and literals."""
    return pc.binary_join_element_wise(*parts, "")


def padded(numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings: 7 -> '0000007'."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")


def json_strings(options: tuple[str, ...] | list[str]) -> list[str]:
    """JSON-encoded literals (quotes and escapes included) for splicing into JSON object templates."""
    return [json.dumps(option, ensure_ascii=False) for option in options]


def with_nulls(column: pa.Array, mask: np.ndarray) -> pa.Array:
    """Replace rows where `mask` is True with NULL."""
    return pc.if_else(pa.array(mask), pa.nulls(len(column), column.type), column)


def micros_of(day: date) -> int:
    """Epoch microseconds of a day's midnight UTC."""
    return int(datetime.combine(day, time(), UTC).timestamp()) * MICROS
