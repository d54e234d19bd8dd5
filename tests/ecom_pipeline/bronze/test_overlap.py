"""`HeldRows`: which extracted rows another partition already holds (same primary key and record hash)."""

import pyarrow as pa

from ecom_pipeline.bronze.overlap import HeldRows, row_versions


def test_only_rows_with_the_same_key_and_hash_are_dropped():
    held = HeldRows()
    held.add(row_versions(pa.table({"id": [1, 2]}), pa.array(["h1", "h2"])))
    table = pa.table({"id": [1, 2, 3, 4], "note": ["same", "changed", "new", "hash of 1"]})
    hashes = pa.array(["h1", "h2-new", "h3", "h1"])
    kept, kept_hashes = held.drop_held(table, hashes, ("id",))
    assert kept["id"].to_pylist() == [2, 3, 4]
    assert kept_hashes.to_pylist() == ["h2-new", "h3", "h1"]
    assert held.dropped == 1


def test_nothing_held_keeps_every_row():
    table = pa.table({"a": [1], "b": ["x"]})
    kept, _ = HeldRows().drop_held(table, pa.array(["h"]), ("a", "b"))
    assert kept.equals(table)
