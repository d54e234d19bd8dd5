"""What the UI keeps of an `energy_series` materialization: check results per partition, table metadata."""

import re
import urllib.request
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetCheckKey, AssetKey, MultiPartitionKey

from assets.energy_series.checks import CHECK_SPECS
from deploy.local.sources.energy_files import energy_key, energy_parquet
from ecom_pipeline.energy_series.datasets import DATASETS
from tests.assets.energy_series.sandbox import SeriesEnv, materialization_metadata

DAY = date(2026, 3, 2)


def test_check_results_are_recorded_for_the_materialized_partition(series_env: SeriesEnv):
    series_env.put(energy_key("consumption", DAY), energy_parquet("consumption", DAY, 48))
    assert series_env.run("consumption", DAY).success

    partition = MultiPartitionKey({"dataset": "consumption", "date": DAY.isoformat()})
    storage = series_env.instance.event_log_storage
    for spec in CHECK_SPECS:
        records = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("energy_series"), spec.name), limit=5
        )
        assert [r.partition for r in records] == [partition], spec.name
        assert records[0].event.dagster_event.asset_check_evaluation_data.partition == partition


def test_materialization_reports_points_as_row_count_the_point_columns_and_file_links(series_env: SeriesEnv):
    key = energy_key("generation", DAY)
    series_env.put(key, energy_parquet("generation", DAY, 30))
    result = series_env.run("generation", DAY)
    assert result.success

    metadata = materialization_metadata(result)
    assert metadata["dagster/row_count"] == metadata["dagster/partition_row_count"] == 30
    columns = {c.name: (c.type, c.description) for c in metadata["dagster/column_schema"].columns}
    spec = DATASETS["generation"]
    assert columns[spec.time_column][1] == "point time"
    assert {name for name, (_, kind) in columns.items() if kind == "tag"} == set(spec.tags)
    assert {name: kind for name, (kind, role) in columns.items() if role == "field"} == spec.field_types
    # Locally the links are presigned URLs of the local endpoint: the file opens as it is.
    (link,) = re.findall(r"\]\((http[^)]+)\)", metadata["files"])
    assert pq.read_table(pa.BufferReader(urllib.request.urlopen(link, timeout=10).read())).num_rows == 30
    listing = urllib.request.urlopen(metadata["source"], timeout=10).read().decode()
    assert "<KeyCount>1</KeyCount>" in listing and key.rsplit("/", 1)[1] in listing
