"""`UniqueKeys`: the disk-spilling uniqueness check, across spills, for integer and composite keys."""

import io

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.bronze.unique_keys import UniqueKeys, confirm_duplicates


def test_integer_keys_repeating_across_spills_are_found_exactly():
    keys = UniqueKeys(("id",), buffer_rows=100)
    for start in range(0, 1000, 50):
        keys.add(pa.table({"id": pa.array(range(start, start + 50), pa.int64())}))
    keys.add(pa.table({"id": pa.array([-7, 999, 3, -7], pa.int64())}))
    result = keys.duplicates()
    keys.close()
    assert result.duplicated_keys == 3
    assert sorted((e["id"], e["count_all"]) for e in result.examples) == [(-7, 2), (3, 2), (999, 2)]


def test_unique_integer_keys_pass():
    keys = UniqueKeys(("id",), buffer_rows=10)
    keys.add(pa.table({"id": list(range(100))}))
    assert keys.duplicates().duplicated_keys == 0
    keys.close()


def test_composite_keys_are_confirmed_on_the_written_files():
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    batches = [
        pa.table({"a": [1, 1, 2], "b": ["x", "y", "x"]}, schema=schema),
        pa.table({"a": [1, 3], "b": ["y", None]}, schema=schema),
        pa.table({"a": [3], "b": [None]}, schema=schema),
    ]
    keys = UniqueKeys(("a", "b"), buffer_rows=2)
    for batch in batches:
        keys.add(batch)
    assert keys.duplicates() is None  # hashed: candidates only
    hashes = keys.candidate_hashes()
    keys.close()
    sink = io.BytesIO()
    pq.write_table(pa.concat_tables(batches), sink, row_group_size=2)
    files = [pq.ParquetFile(io.BytesIO(sink.getvalue()))]
    result = confirm_duplicates(files, ("a", "b"), hashes)
    assert result.duplicated_keys == 2
    assert sorted(map(str, ((e["a"], e["b"]) for e in result.examples))) == ["(1, 'y')", "(3, None)"]
