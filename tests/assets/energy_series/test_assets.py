"""`energy_series` against the local stack: S3 (moto server) and InfluxDB (token proxy + influxd 1.6)."""

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity

from deploy.local.sources.energy_files import energy_invalid_rows, energy_key, energy_parquet
from ecom_pipeline.energy_series.datasets import DATASETS
from tests.assets.energy_series.sandbox import (
    SeriesEnv,
    checks_of,
    closed_port_url,
    failure_message,
    materialization_metadata,
    retries_of,
)

DAY = date(2026, 3, 1)
TAGS = DATASETS["generation"].tags


@pytest.mark.parametrize("dataset", ["generation", "consumption", "transmission"])
def test_each_dataset_is_written_and_read_back(series_env: SeriesEnv, dataset: str):
    body = energy_parquet(dataset, DAY, 240)
    series_env.put(energy_key(dataset, DAY), body)

    result = series_env.run(dataset, DAY)

    assert result.success
    metadata = materialization_metadata(result)
    assert metadata["points_written"] == metadata["input_rows"] == metadata["output_points"] == 240
    assert metadata["dataset_type"] == dataset and metadata["batches_processed"] == 1
    assert metadata["influxdb_health"] == "healthy" and metadata["conversion_rate"] == 1.0
    assert series_env.metric_names(DatasetType=dataset) == {
        "PointsWritten",
        "BatchesProcessed",
        "ProcessingTime",
        "ConversionRate",
        "SuccessRate",
        "FailedBatches",
    }
    checks = checks_of(result)
    assert all(check.passed for check in checks.values()), checks
    assert checks["points_written_match_server"].metadata["points_on_server"].value == 240

    spec = DATASETS[dataset]
    stored = series_env.stored(dataset, DAY)
    assert stored.points == 240
    first = pq.read_table(pa.BufferReader(body)).slice(0, 1).to_pylist()[0]
    tags = tuple(sorted({t: first[t] for t in spec.tags}.items()))
    ns = pa.array([first["timestamp"]], pa.timestamp("ns", "UTC")).cast(pa.int64())[0].as_py()
    for field in spec.fields:
        assert stored.values[(field, tags, ns)] == pytest.approx(first[field])


def test_invalid_rows_are_dropped_and_counted_and_odd_tags_escaped(series_env: SeriesEnv):
    body = energy_parquet("generation", DAY, 100, with_invalid=True)
    series_env.put(energy_key("generation", DAY), body)

    result = series_env.run("generation", DAY)

    assert result.success
    metadata = materialization_metadata(result)
    assert (
        metadata["input_rows"] == 100 and metadata["points_written"] == 90 and metadata["dropped_rows"] == 10
    )
    reasons = metadata["dropped_rows_by_reason"]
    assert "| null_field | 5 |" in reasons and "| non_finite_field | 5 |" in reasons
    checks = checks_of(result)
    assert checks["points_written_match_server"].passed
    drop_rate = checks["dropped_rows_rate"]
    assert not drop_rate.passed and drop_rate.severity == AssetCheckSeverity.WARN
    assert drop_rate.metadata["drop_rate"].value == pytest.approx(0.1)
    # Tag values with spaces, commas, quotes and '=' arrive unchanged (escaped on the wire).
    stored = series_env.stored("generation", DAY)
    assert stored.points == 90
    stored_tag_values = {value for (_, tags, _) in stored.values for _, value in tags}
    rows = pq.read_table(pa.BufferReader(body)).to_pylist()
    odd = {rows[i][tag] for i, kind in energy_invalid_rows(100).items() if kind == "odd_tag" for tag in TAGS}
    assert all(any(char in value for value in odd) for char in (" ", ",", "=", '"'))
    assert odd <= stored_tag_values


def test_invalid_rows_fail_as_bad_input_when_dropping_is_off(series_env: SeriesEnv):
    key = energy_key("generation", DAY)
    series_env.put(key, energy_parquet("generation", DAY, 50, with_invalid=True))

    result = series_env.run_with_retry_policy(
        "generation", DAY, series_env.config(drop_invalid_records=False)
    )

    assert not result.success and retries_of(result) == 0
    message = failure_message(result)
    assert f"bad input (400): s3://{series_env.s3_bucket}/{key}: row 3: column 'power_mw': " in message
    assert series_env.stored("generation", DAY).points == 0  # nothing written for the partition


def test_missing_required_column_fails_as_bad_input_without_retry(series_env: SeriesEnv):
    table = pq.read_table(pa.BufferReader(energy_parquet("consumption", DAY, 20))).drop_columns(
        ["load_factor"]
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    key = energy_key("consumption", DAY)
    series_env.put(key, sink.getvalue().to_pybytes())

    result = series_env.run_with_retry_policy("consumption", DAY)

    assert not result.success and retries_of(result) == 0
    assert "missing required column(s) 'load_factor'" in failure_message(result)
    assert series_env.stored("consumption", DAY).points == 0


def test_server_down_fails_as_unavailable_after_retries(series_env: SeriesEnv):
    series_env.put(energy_key("transmission", DAY), energy_parquet("transmission", DAY, 20))
    down = series_env.influxdb(url=closed_port_url(), timeout_ms=1_000)

    result = series_env.run("transmission", DAY, series_env.config(step_retries=2), influxdb=down)

    assert not result.success
    assert retries_of(result) == 2
    message = failure_message(result)
    assert "Exceeded max_retries of 2" in message and "unavailable (503): InfluxDB unhealthy" in message
    assert "ProcessingErrors" in series_env.metric_names(ErrorType="ServiceUnavailable")


def test_one_point_the_server_rejects_does_not_sink_its_batch(series_env: SeriesEnv):
    # influxd keeps one type per field and shard (7 days around DAY): a string `efficiency` written two
    # days earlier makes the one row that carries a float `efficiency` a field type conflict.
    series_env.influxdb().write_lines(['generation_data,region=earlier efficiency="n/a" 1772150400000000000'])
    table = pq.read_table(pa.BufferReader(energy_parquet("generation", DAY, 25)))
    efficiency = [None] * 25
    efficiency[12] = 0.5
    table = table.set_column(table.schema.get_field_index("efficiency"), "efficiency", pa.array(efficiency))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    series_env.put(energy_key("generation", DAY), sink.getvalue().to_pybytes())

    # Validation off: null `efficiency` values are left out of their lines instead of dropping the rows.
    result = series_env.run("generation", DAY, series_env.config(batch_size=10, enable_validation=False))

    assert result.success
    metadata = materialization_metadata(result)
    assert metadata["points_written"] == 24 and metadata["batches_processed"] == 3
    assert (
        metadata["failed_batches"] == 1 and "| rejected_by_server | 1 |" in metadata["dropped_rows_by_reason"]
    )
    rejected = metadata["rejected_points"][0]
    assert rejected["index"] == 12 and "efficiency=0.5" in rejected["line"]
    assert "field type conflict" in rejected["error"] and "already exists as type string" in rejected["error"]
    stored = series_env.stored("generation", DAY)
    assert stored.points == 24 and stored.field_values["power_mw"] == 24
    points_check = checks_of(result)["points_written_match_server"]
    assert not points_check.passed  # 25 valid rows, 24 stored: the loss is visible
    assert points_check.metadata["points_on_server"].value == 24


def test_rerunning_a_partition_leaves_the_stored_points_unchanged(series_env: SeriesEnv):
    series_env.put(energy_key("consumption", DAY), energy_parquet("consumption", DAY, 120))
    assert series_env.run("consumption", DAY).success
    before = series_env.stored("consumption", DAY)

    again = series_env.run("consumption", DAY)

    assert again.success and all(check.passed for check in checks_of(again).values())
    after = series_env.stored("consumption", DAY)
    assert after.points == before.points == 120 and after.series == before.series
    assert after.values == before.values
