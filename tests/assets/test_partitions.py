from assets.partitions import keys_in_range, partition_range_of, partition_range_tags


def test_range_tags_round_trip_and_single_runs_have_none():
    assert partition_range_of(partition_range_tags("a", "c")) == ("a", "c")
    assert partition_range_of({"dagster/partition": "a"}) is None


def test_keys_in_range_follow_partition_order_not_sort_order():
    ordered = ["z", "b", "a", "c"]
    assert keys_in_range(ordered, "b", "c") == ["b", "a", "c"]
    assert keys_in_range(ordered, "z", "z") == ["z"]
    assert keys_in_range(ordered, "b", "missing") == []
