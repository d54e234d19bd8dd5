from ecom_pipeline.energy_series.readback import summarize_export


def test_points_are_distinct_tag_sets_and_timestamps_across_fields():
    records = [
        {
            "metric": {"__name__": "gen_power", "region": "a", "db": "x"},
            "values": [1, 1, 2],
            "timestamps": [10, 10, 20],
        },
        {"metric": {"__name__": "gen_eff", "region": "a", "db": "x"}, "values": [0.5], "timestamps": [10]},
        {"metric": {"__name__": "gen_power", "region": "b", "db": "x"}, "values": [3], "timestamps": [10]},
        {"metric": {"__name__": "other_power", "region": "a"}, "values": [9], "timestamps": [30]},
    ]
    stored = summarize_export(records, "gen", ["power", "eff"], keep_values=True)
    assert (stored.points, stored.samples, stored.series) == (3, 5, 2)
    assert (stored.min_timestamp_ms, stored.max_timestamp_ms) == (10, 20)
    assert stored.values[("eff", (("db", "x"), ("region", "a")), 10)] == 0.5


def test_nothing_stored():
    stored = summarize_export([], "gen", ["power"])
    assert stored.points == 0 and stored.min_timestamp_ms is None and stored.values == {}


def test_values_are_kept_only_on_request():
    records = [{"metric": {"__name__": "gen_power"}, "values": [1], "timestamps": [10]}]
    assert summarize_export(records, "gen", ["power"]).values == {}
