import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.readback import (
    QueryError,
    count_query,
    quote_identifier,
    summarize_counts,
    summarize_values,
)


def test_count_query_text_is_one_influxql_statement_over_the_half_open_range():
    assert count_query(DATASETS["generation"], 10, 20) == (
        'SELECT count(*) FROM "generation_data" WHERE time >= 10 AND time < 20 GROUP BY *'
    )
    assert quote_identifier('we"ird\\name') == '"we\\"ird\\\\name"'


def test_points_are_per_series_the_largest_field_count():
    answer = {
        "results": [
            {
                "statement_id": 0,
                "series": [
                    {
                        "name": "gen",
                        "tags": {"region": "a"},
                        "columns": ["time", "count_eff", "count_power"],
                        "values": [[0, 2, 3]],
                    },
                    {
                        "name": "gen",
                        "tags": {"region": "b"},
                        "columns": ["time", "count_eff", "count_power"],
                        "values": [[0, 1, None]],
                    },
                ],
            }
        ]
    }
    stored = summarize_counts(answer)
    assert (stored.points, stored.series) == (4, 2)
    assert stored.field_values == {"eff": 3, "power": 3}


def test_values_are_keyed_by_field_tags_and_nanoseconds():
    answer = {
        "results": [
            {
                "series": [
                    {
                        "name": "gen",
                        "tags": {"region": "a", "empty": ""},
                        "columns": ["time", "eff", "power"],
                        "values": [[10, 0.5, None], [20, None, 2.0]],
                    },
                ]
            }
        ]
    }
    stored = summarize_values(answer)
    assert (stored.points, stored.series) == (2, 1)
    assert stored.values == {("eff", (("region", "a"),), 10): 0.5, ("power", (("region", "a"),), 20): 2.0}


def test_unknown_database_is_nothing_stored_and_other_errors_raise():
    missing = {"results": [{"statement_id": 0, "error": "database not found: test_x"}]}
    assert summarize_counts(missing).points == 0 and summarize_values(missing).values == {}
    with pytest.raises(QueryError, match="error parsing query"):
        summarize_counts({"results": [{"error": "error parsing query: found EOF"}]})
