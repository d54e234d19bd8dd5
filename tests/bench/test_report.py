"""The benchmark table: medians over rounds, the ratio as the median of each round's own ratio, goals."""

import json

from bench.report import RoundResult, append_record, read_records, render_table, summarize, table_json


def _round(plain: float, pipeline: float, rows: int = 100_000, **goal) -> RoundResult:
    goal = goal or {"goal": "<= 1.2x at 100,000 rows", "goal_max_ratio": 1.2, "min_rows": 100_000}
    return RoundResult("product_uploads", "csv", rows, plain, pipeline, 300.0 + pipeline, **goal)


def test_the_ratio_is_the_median_of_the_rounds_ratios_not_the_ratio_of_medians():
    (row,) = summarize([_round(1.0, 1.1), _round(2.0, 2.6), _round(4.0, 4.4)])
    assert row.rounds == 3
    assert row.ratio == 1.1  # round ratios 1.1, 1.3, 1.1
    assert (row.plain_s, row.pipeline_s) == (2.0, 2.6)
    assert row.rows_per_s == 100_000 / 2.6
    assert row.peak_rss_mb == 304.4  # the largest of the rounds
    assert row.met is True


def test_a_ratio_goal_is_missed_above_it_and_not_judged_below_its_size():
    assert summarize([_round(1.0, 1.3)] * 3)[0].met is False
    assert summarize([_round(1.0, 1.0, rows=2000)] * 3)[0].met is None


def test_without_a_ratio_goal_every_round_must_meet_its_own_goal():
    goal = {"goal": "step start < 500 ms (median)"}
    met, missed = _round(1.0, 2.0, met=True, **goal), _round(1.0, 2.0, met=False, **goal)
    assert summarize([met, met, met])[0].met is True
    assert summarize([met, missed, met])[0].met is False


def test_records_round_trip_and_the_table_has_one_line_per_pipeline(tmp_path):
    path = tmp_path / "rounds.jsonl"
    rounds = [_round(1.0, 1.1), _round(1.0, 1.2), _round(1.0, 1.15)]
    other = RoundResult("bronze", "orders", 1000, 2.0, 3.0, 500.0, "<= 2x", 2.0)
    for result in [*rounds, other, other, other]:
        append_record(path, result)
    assert read_records(path) == [*rounds, other, other, other]
    rows = summarize(read_records(path))
    table = render_table(rows).splitlines()
    assert table[0].split()[:2] == ["pipeline", "workload"]
    assert [line.split()[0] for line in table[2:4]] == ["product_uploads", "bronze"]
    assert "1.15x" in table[2] and "yes" in table[2] and "1.50x" in table[3]
    assert "median of 3+ rounds" in table[-1]
    document = json.loads(table_json(rows, read_records(path), {"timestamp": "t"}))
    assert document["timestamp"] == "t" and len(document["table"]) == 2 and len(document["rounds"]) == 6
