"""Data-quality measurements of a written bronze partition.

Row and null counts are read from what landed (the Parquet footers' row-group statistics), not from what the
writer meant to write; key uniqueness is measured on the extracted key columns.
"""

from dataclasses import dataclass

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


def duplicate_keys(
    key_tables: list[pa.Table], key_columns: tuple[str, ...], examples: int = 5
) -> DuplicateKeys:
    """Key values occurring more than once across the partition's rows."""
    if not key_tables or not any(t.num_rows for t in key_tables):
        return DuplicateKeys(0, [])
    keys = pa.concat_tables(key_tables)
    if len(key_columns) == 1 and pc.count_distinct(keys.column(0)).as_py() == keys.num_rows:
        return DuplicateKeys(0, [])  # the common case, without building the grouped table
    counts = keys.group_by(list(key_columns)).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    return DuplicateKeys(repeated.num_rows, repeated.slice(0, examples).to_pylist())
