"""Rows the lake already holds: what an incremental run drops from its re-read overlap (see windows.py).

A row version is identified by its primary key and `_record_hash`. The held versions are those of the
entity's other incremental partitions whose cursor lies in this run's query range; there are about as many
as the overlap re-reads (a day's rows at most), not a whole table, so they are kept in a set.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

RowVersion = tuple


def row_versions(keys: pa.Table, record_hashes: pa.Array) -> list[RowVersion]:
    """(primary key values..., record hash) of each row."""
    columns = [keys.column(i).to_pylist() for i in range(keys.num_columns)]
    columns.append(pa.chunked_array([record_hashes]).to_pylist())
    return list(zip(*columns, strict=True))


@dataclass
class HeldRows:
    """Row versions other partitions already hold, and how many extracted rows matched them."""

    versions: set[RowVersion] = field(default_factory=set)
    dropped: int = 0
    _hashes: pa.Array | None = field(default=None, repr=False)

    def add(self, versions: Iterable[RowVersion]) -> None:
        self.versions.update(versions)
        self._hashes = None

    def drop_held(
        self, table: pa.Table, record_hashes: pa.Array, primary_key: tuple[str, ...]
    ) -> tuple[pa.Table, pa.Array]:
        """`table` and its hashes without the rows whose version is held."""
        if not self.versions or table.num_rows == 0:
            return table, record_hashes
        if self._hashes is None:
            self._hashes = pa.array({version[-1] for version in self.versions}, pa.string())
        # Most rows are new: a vectorised hash test first, then the exact (key, hash) test on the few candidates.
        candidates = pc.is_in(pa.chunked_array([record_hashes]).cast(pa.string()), value_set=self._hashes)
        positions = pc.indices_nonzero(candidates).to_pylist()
        if not positions:
            return table, record_hashes
        taken = table.select(list(primary_key)).take(positions)
        versions = row_versions(taken, pa.chunked_array([record_hashes]).take(positions).combine_chunks())
        held = [p for p, version in zip(positions, versions, strict=True) if version in self.versions]
        if not held:
            return table, record_hashes
        self.dropped += len(held)
        keep = pc.invert(
            pc.is_in(pa.array(range(table.num_rows), pa.int64()), value_set=pa.array(held, pa.int64()))
        )
        hashes = pa.chunked_array([record_hashes]).filter(keep).combine_chunks()
        return table.filter(keep), hashes
