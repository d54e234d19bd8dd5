from datetime import date

import pytest

from ecom_pipeline.energy_series.datasets import (
    DATASETS,
    UnknownDatasetError,
    classify_key,
    detect_dataset,
    partition_prefix,
)
from ecom_pipeline.energy_series.events import InvalidEventError, ObjectRef, parse_event


@pytest.mark.parametrize(
    ("dataset", "measurement", "tags", "fields"),
    [
        (
            "generation",
            "generation_data",
            ("region", "energy_source", "measurement_type", "quality_flag"),
            ("power_mw", "capacity_factor", "efficiency"),
        ),
        (
            "consumption",
            "consumption_data",
            ("region", "consumer_type", "measurement_type", "quality_flag"),
            ("consumption_mwh", "demand_mw", "load_factor"),
        ),
        (
            "transmission",
            "transmission_data",
            ("region", "line_id", "measurement_type", "quality_flag"),
            ("flow_mw", "losses_mwh", "voltage_kv"),
        ),
    ],
)
def test_mapping_of_each_dataset(dataset, measurement, tags, fields):
    spec = detect_dataset(f"processed/dataset={dataset}/date=2026-03-01/part-0.parquet")
    assert (spec.name, spec.measurement, spec.tags, spec.fields) == (dataset, measurement, tags, fields)
    assert spec is DATASETS[dataset]


def test_classify_key_gives_dataset_and_day():
    obj = classify_key("b", "processed/dataset=consumption/date=2026-02-28/part-00001.parquet")
    assert (obj.bucket, obj.dataset, obj.day) == ("b", "consumption", date(2026, 2, 28))
    assert obj.spec.measurement == "consumption_data"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("processed/dataset=weather/date=2026-01-01/a.parquet", "names dataset 'weather'"),
        ("processed/date=2026-01-01/a.parquet", "no 'dataset=<name>/'"),
        ("processed/dataset=generation/a.parquet", "no 'date=YYYY-MM-DD/'"),
        ("processed/dataset=generation/date=2026-02-30/a.parquet", "invalid date"),
        ("processed/dataset=generation/date=2026-01-01/_SUCCESS", "not a .parquet"),
    ],
)
def test_classify_key_rejects_with_the_key_named(key, message):
    with pytest.raises(UnknownDatasetError, match=message) as caught:
        classify_key("b", key)
    assert key in str(caught.value)


def test_partition_prefix():
    assert (
        partition_prefix("transmission", date(2026, 1, 2))
        == "processed/dataset=transmission/date=2026-01-02/"
    )
    assert partition_prefix("generation", "2026-01-02") == "processed/dataset=generation/date=2026-01-02/"
    with pytest.raises(UnknownDatasetError):
        partition_prefix("weather", "2026-01-02")


def test_parse_s3_event_decodes_keys():
    event = {
        "Records": [
            {
                "s3": {
                    "bucket": {"name": "bkt"},
                    "object": {"key": "processed/dataset=generation/a+b%3D1.parquet"},
                }
            },
            {"s3": {"bucket": {"name": "bkt"}, "object": {"key": "k2.parquet"}}},
        ]
    }
    assert parse_event(event) == [
        ObjectRef("bkt", "processed/dataset=generation/a b=1.parquet"),
        ObjectRef("bkt", "k2.parquet"),
    ]


def test_parse_step_functions_payload_keeps_key_verbatim():
    assert parse_event({"bucket": "bkt", "key": "a+b.parquet"}) == [ObjectRef("bkt", "a+b.parquet")]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "neither 'Records'"),
        ({"Records": []}, "non-empty list"),
        ({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {}}}]}, r"Records\[0\].s3.object.key"),
        ({"Records": [{"eventSource": "aws:sqs"}]}, r"Records\[0\] has no 's3'"),
        ({"bucket": "b"}, "key must be"),
        ({"bucket": "", "key": "k"}, "bucket must be"),
        ([], "JSON object"),
    ],
)
def test_parse_event_rejects_other_shapes(event, message):
    with pytest.raises(InvalidEventError, match=message):
        parse_event(event)
