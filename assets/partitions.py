"""Every partitioning scheme of the project, in one place so assets, jobs and sensors agree."""

import os
from collections.abc import Mapping, Sequence

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from ecom_pipeline.constants import (
    BRONZE_START_DATE_ENV,
    DEFAULT_BRONZE_START_DATE,
    ENERGY_DATASETS,
    PARTITIONS_START_DATE,
    date_setting,
)

# A bronze partition D is the window of source changes with D <= updated_at < D + 1 day (UTC). The first day
# is a deployment setting (read when the code location loads) so backfills reach the source's whole history.
BRONZE_START_DATE = date_setting(os.environ, BRONZE_START_DATE_ENV, DEFAULT_BRONZE_START_DATE)
bronze_daily_partitions = DailyPartitionsDefinition(start_date=BRONZE_START_DATE, timezone="UTC")

# One partition per uploaded CSV; the key is the upload id (see ecom_pipeline.product_uploads.upload_id).
product_upload_partitions = DynamicPartitionsDefinition(name="product_uploads")

# One partition per (dataset, day) of processed energy Parquet.
energy_series_partitions = MultiPartitionsDefinition(
    {
        "dataset": StaticPartitionsDefinition(list(ENERGY_DATASETS)),
        "date": DailyPartitionsDefinition(start_date=PARTITIONS_START_DATE, timezone="UTC"),
    }
)

# One partition per metric JSON file, so every file's import is visible and re-runnable on its own.
metric_import_file_partitions = DynamicPartitionsDefinition(name="metric_import_files")
# Files one run imports at most (sensor batches and backfills): amortises the run's start-up over many files.
# 100 files of a few MB take seconds; the sensor also caps a batch's bytes (METRIC_IMPORT_BYTES_PER_RUN), which a
# UI backfill cannot, so a backfill over many files near the 50 MB limit wants a large step size.
METRIC_IMPORT_FILES_PER_RUN = 100
METRIC_IMPORT_BYTES_PER_RUN = 256 * 1024 * 1024


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run cover the partitions `first`..`last`: Dagster's own range tags (a
    RunRequest has no range field), kept here so the private import stands in one place."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def partition_range_of(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition range a run's tags name, or None for a single-partition run."""
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        return tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    return None


def keys_in_range(ordered: Sequence[str], first: str, last: str) -> list[str]:
    """The keys from `first` to `last` in the partitions' order; empty when either is not a partition."""
    position = {key: index for index, key in enumerate(ordered)}
    if first not in position or last not in position:
        return []
    return list(ordered[position[first] : position[last] + 1])


def materializations_of_run(
    instance: DagsterInstance, asset_key: AssetKey, run_id: str, partition_keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """partition key -> this run's materialization of it, as the target of a check evaluation of that partition.

    A run over a partition range has no single partition, so `AssetCheckResult` cannot name one; the step yields
    `AssetCheckEvaluation(partition=...)` instead, and without the materialization it checked Dagster treats the
    result as stale (the partition's check shows as not evaluated). The class that names the target is
    private, hence here. One query for all partitions; a partition materialized again by another run since is
    left out (its newer materialization is not what this run checked).
    """
    if not partition_keys:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(partition_keys)),
        limit=2 * len(partition_keys),
    ).records
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for record in records:  # newest first
        if record.partition_key is not None and record.partition_key not in targets:
            targets[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            )
    return {key: target for key, target in targets.items() if target.run_id == run_id}
