"""Data-quality measurements of a written bronze partition.

Row and null counts are read from what landed (the Parquet footers' row-group statistics), not from what the
writer meant to write; key uniqueness is measured on the extracted key columns.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class DuplicateKeys:
    duplicated_keys: int  # distinct key values that occur more than once
    examples: list[dict]


def rows_in_files(files: list[pq.ParquetFile]) -> int:
    return sum(f.metadata.num_rows for f in files)


def null_count(files: list[pq.ParquetFile], column: str) -> int:
    """Nulls of `column` across the files: footer statistics where present, else the column itself."""
    total = 0
    for parquet_file in files:
        meta = parquet_file.metadata
        index = parquet_file.schema_arrow.get_field_index(column)
        if index < 0:
            total += meta.num_rows  # a missing column is null everywhere
            continue
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is not None and stats.has_null_count:
                total += stats.null_count
            else:
                values = parquet_file.read_row_group(group, columns=[column]).column(0)
                total += values.null_count
    return total


def _integers_unique(column: pa.ChunkedArray) -> bool:
    if not pa.types.is_integer(column.type) or column.null_count:
        return False  # not decided here: the grouped count below handles it
    values = np.sort(column.to_numpy())
    return not bool(np.any(values[1:] == values[:-1]))


def duplicate_keys(
    key_tables: list[pa.Table], key_columns: tuple[str, ...], examples: int = 5
) -> DuplicateKeys:
    """Key values occurring more than once across the partition's rows."""
    if not key_tables or not any(t.num_rows for t in key_tables):
        return DuplicateKeys(0, [])
    keys = pa.concat_tables(key_tables)
    if len(key_columns) == 1 and _integers_unique(keys.column(0)):
        return DuplicateKeys(0, [])  # the common case: a sort, where a hash table would take ~40x the memory
    counts = keys.group_by(list(key_columns)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    return DuplicateKeys(repeated.num_rows, repeated.slice(0, examples).to_pylist())
