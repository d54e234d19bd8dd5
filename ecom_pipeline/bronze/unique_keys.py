"""Primary-key uniqueness of a partition in bounded memory: keys spill to disk, bucketed by hash.

Keeping every key of a day in memory grows with the day. Here each row's key becomes one 64-bit value (the
key itself for a single non-null integer column, else a hash of the key columns), values wait in a fixed
buffer and spill into `BUCKETS` temporary files by their high bits; at the end each bucket is read, sorted
and scanned for repeats on its own. Memory is the buffer plus one bucket (1/64 of 8 bytes per row).

Integer keys are exact. Hashed keys yield candidate hashes: `duplicate_candidates` names them, and the check
confirms them against the written files (`confirm_duplicates`), so a hash collision never fails a partition.
"""

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecom_pipeline.bronze.quality import DuplicateKeys

BUCKETS = 64
_MIX = np.uint64(0x9E3779B97F4A7C15)  # spreads consecutive integer keys over the buckets
_SHIFT = np.uint64(64 - 6)


def key_values(keys: pa.Table) -> tuple[np.ndarray, bool]:
    """One uint64 per row and whether it is the key itself (exact) or a hash of the key columns."""
    if keys.num_columns == 1 and pa.types.is_integer(keys.column(0).type) and keys.column(0).null_count == 0:
        values = keys.column(0).cast(pa.int64()).to_numpy()
        return values.view(np.uint64), True
    frame = keys.to_pandas()
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64), False


@dataclass
class UniqueKeys:
    """Feed each batch's key columns with `add`; `duplicates` at the end; `close` removes the spill files."""

    key_columns: tuple[str, ...]
    buffer_rows: int = 1 << 20
    rows: int = 0
    exact: bool = True
    _buffer: list[np.ndarray] = field(default_factory=list)
    _buffered: int = 0
    _directory: tempfile.TemporaryDirectory | None = None

    def add(self, keys: pa.Table) -> None:
        if keys.num_rows == 0:
            return
        values, exact = key_values(keys)
        self.exact = self.exact and exact
        self.rows += len(values)
        self._buffer.append(values.copy())
        self._buffered += len(values)
        if self._buffered >= self.buffer_rows:
            self._spill()

    def _spill(self) -> None:
        if not self._buffer:
            return
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="bronze-keys-")
        values = np.concatenate(self._buffer)
        self._buffer, self._buffered = [], 0
        buckets = (values * _MIX) >> _SHIFT
        order = np.argsort(buckets, kind="stable")
        values, buckets = values[order], buckets[order]
        bounds = np.searchsorted(buckets, np.arange(BUCKETS + 1, dtype=np.uint64))
        for bucket in range(BUCKETS):
            start, end = bounds[bucket], bounds[bucket + 1]
            if end > start:
                with open(self._path(bucket), "ab") as spill:
                    values[start:end].tofile(spill)

    def _path(self, bucket: int) -> str:
        assert self._directory is not None
        return os.path.join(self._directory.name, f"{bucket:02d}.u64")

    def duplicate_candidates(self, limit: int = 5) -> tuple[int, list[tuple[int, int]]]:
        """How many distinct values repeat, and the first `limit` of them with their counts (the value is the
        key when exact, else its hash)."""
        self._spill()
        repeated, examples = 0, []
        for bucket in range(BUCKETS if self._directory is not None else 0):
            path = self._path(bucket)
            if not os.path.exists(path):
                continue
            values, counts = np.unique(np.fromfile(path, dtype=np.uint64), return_counts=True)
            many = counts > 1
            repeated += int(many.sum())
            for value, count in zip(values[many], counts[many], strict=True):
                if len(examples) >= limit:
                    break
                examples.append((int(value.view(np.int64)) if self.exact else int(value), int(count)))
        return repeated, examples

    def duplicates(self, limit: int = 5) -> DuplicateKeys | None:
        """Exact result for integer keys; None when hashed candidates must be confirmed on the files."""
        repeated, examples = self.duplicate_candidates(limit)
        if self.exact or repeated == 0:
            column = self.key_columns[0]
            return DuplicateKeys(repeated, [{column: value, "count_all": n} for value, n in examples])
        return None

    def candidate_hashes(self) -> list[int]:
        return [value for value, _ in self.duplicate_candidates(limit=1 << 30)[1]]

    def close(self) -> None:
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def confirm_duplicates(
    files: list[pq.ParquetFile], key_columns: tuple[str, ...], hashes: list[int], limit: int = 5
) -> DuplicateKeys:
    """Exact repeats among the rows whose hashed key is a candidate: reads the key columns row group by row
    group and keeps only the candidate rows (few), so memory stays bounded and a collision is not a repeat."""
    wanted = np.array(hashes, dtype=np.uint64)
    suspects = [pa.table({c: pa.array([], pa.null()) for c in key_columns})]
    for parquet_file in files:
        for group in range(parquet_file.metadata.num_row_groups):
            keys = parquet_file.read_row_group(group, columns=list(key_columns))
            values, _ = key_values(keys)
            suspects.append(keys.filter(pa.array(np.isin(values, wanted))))
    table = pa.concat_tables(suspects[1:]) if len(suspects) > 1 else suspects[0]
    counts = table.group_by(list(key_columns)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    return DuplicateKeys(repeated.num_rows, repeated.slice(0, limit).to_pylist())
