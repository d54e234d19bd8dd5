"""Triggers of the metric imports: new files (the sensor) and a periodic sweep of what it missed (the schedule).

`metric_imports_sensor` turns each new file version under `imports/` into a partition and requests runs keyed by
(key, ETag), so a duplicate event or a re-listing launches nothing twice. New files found in one tick are
batched into runs over a range of their (just added, hence adjacent) partitions, up to
METRIC_IMPORT_FILES_PER_RUN files and METRIC_IMPORT_BYTES_PER_RUN bytes each; a new version of a file that
already has a partition gets a run of its own. `metric_imports_sweep_schedule` catches what the sensor missed
(sensor off, run failed on the database) by comparing the bucket with the ledger.
"""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.metric_imports import metric_imports_job
from assets.partitions import (
    METRIC_IMPORT_BYTES_PER_RUN,
    METRIC_IMPORT_FILES_PER_RUN,
    keys_in_range,
    metric_import_file_partitions,
    partition_range_of,
    partition_range_tags,
)
from ecom_pipeline.metric_imports.selection import (
    batches_of_new_files,
    files_needing_import,
    is_metric_file_key,
)
from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import LastModifiedCursor
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import ImportTables, ledger_entries
from resources.rds import RdsPostgresResource
from resources.s3_objects import list_object_versions

ETAG_TAG = "ecom/metric_import_etag"
TRIGGER_TAG = "ecom/metric_import_trigger"
FILE_COUNT_TAG = "ecom/metric_import_files"
MAX_RUNS_PER_TICK = 500
# Dagster refuses partition keys containing these (mirrors its INVALID_PARTITION_SUBSTRINGS).
_INVALID_PARTITION_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")
_IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def list_metric_files(s3_client: Any, bucket: str, prefix: str) -> Iterator[S3ObjectVersion]:
    """Every object under the imports prefix (folder markers left out), page by page."""
    return (
        obj for obj in list_object_versions(s3_client, bucket, prefix) if is_metric_file_key(obj.key, prefix)
    )


def _usable_partition_key(key: str) -> bool:
    return not any(bad in key for bad in _INVALID_PARTITION_SUBSTRINGS)


def _run_request(obj: S3ObjectVersion, run_key: str, trigger: str) -> RunRequest:
    return RunRequest(run_key=run_key, partition_key=obj.key, tags={ETAG_TAG: obj.etag, TRIGGER_TAG: trigger})


def _batch_run_request(batch: list[S3ObjectVersion]) -> RunRequest:
    """One run over a range of new partitions; the run key covers every member version, so a replayed
    tick with the same files maps to the same key and a different batch never collides with it."""
    if len(batch) == 1:
        return _run_request(batch[0], batch[0].version, "sensor")
    members = "\n".join(obj.version for obj in batch)
    digest = hashlib.sha256(members.encode()).hexdigest()[:16]
    return RunRequest(
        run_key=f"{batch[0].version}+{len(batch) - 1}:{digest}",
        tags={
            **partition_range_tags(batch[0].key, batch[-1].key),
            FILE_COUNT_TAG: str(len(batch)),
            TRIGGER_TAG: "sensor",
        },
    )


@sensor(
    job=metric_imports_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs for new or changed files under the imports prefix: new files batched by partition range.",
)
def metric_imports_sensor(
    context: SensorEvaluationContext, metric_imports_config: MetricImportsConfig
) -> SensorResult | SkipReason:
    config = metric_imports_config
    objects = list_metric_files(config.client("s3"), config.bucket, config.imports_prefix)
    fresh, cursor = LastModifiedCursor.from_json(context.cursor).select_new(objects, limit=MAX_RUNS_PER_TICK)
    if not fresh:
        return SkipReason(f"no new files under s3://{config.bucket}/{config.imports_prefix}")
    name = metric_import_file_partitions.name
    known: list[S3ObjectVersion] = []
    new: list[S3ObjectVersion] = []
    for obj in fresh:
        if not _usable_partition_key(obj.key):
            context.log.error(
                f"cannot import s3://{config.bucket}/{obj.key}: key is not a valid partition key"
            )
        elif context.instance.has_dynamic_partition(name, obj.key):
            known.append(obj)
        else:
            new.append(obj)
    # Added in this order, the new keys end up adjacent in the partition order: each batch is one range.
    return SensorResult(
        run_requests=[
            _batch_run_request(batch)
            for batch in batches_of_new_files(new, METRIC_IMPORT_FILES_PER_RUN, METRIC_IMPORT_BYTES_PER_RUN)
        ]
        + [_run_request(obj, obj.version, "sensor") for obj in known],
        cursor=cursor.to_json(),
        dynamic_partitions_requests=[
            metric_import_file_partitions.build_add_request([obj.key for obj in new])
        ],
    )


@schedule(
    job=metric_imports_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Hourly sweep: files never imported, whose import failed, or replaced since their import.",
)
def metric_imports_sweep_schedule(
    context: ScheduleEvaluationContext,
    rds: RdsPostgresResource,
    metric_imports_config: MetricImportsConfig,
) -> list[RunRequest] | SkipReason:
    config = metric_imports_config
    now = context.scheduled_execution_time or datetime.now(UTC)
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    objects = [
        obj
        for obj in list_metric_files(config.client("s3"), config.bucket, config.imports_prefix)
        if _usable_partition_key(obj.key)
    ]
    conn = rds.connect()
    try:
        ledger = ledger_entries(conn, tables)
    finally:
        conn.close()
    settle = timedelta(minutes=config.sweep_settle_minutes)
    due = files_needing_import(objects, ledger, now, settle)
    in_flight = _partitions_in_flight(context)
    due = [obj for obj in due if obj.key not in in_flight][:MAX_RUNS_PER_TICK]
    if not due:
        young = sum(1 for obj in objects if now - obj.last_modified < settle)
        return SkipReason(
            f"nothing to sweep among {len(objects)} files under {config.imports_prefix}: the rest are "
            f"imported, rejected or running; {young} younger than {config.sweep_settle_minutes} min are "
            "left to metric_imports_sensor"
        )
    known = set(context.instance.get_dynamic_partitions(metric_import_file_partitions.name))
    missing = sorted({obj.key for obj in due} - known)
    if missing:
        context.instance.add_dynamic_partitions(metric_import_file_partitions.name, missing)
    # The tick time in the run key: a file that fails again is retried by the next sweep, once per sweep.
    return [_run_request(obj, f"sweep:{obj.version}:{now.isoformat()}", "schedule") for obj in due]


def _partitions_in_flight(context: ScheduleEvaluationContext) -> set[str]:
    """Files of queued or running imports: single-file runs and every file of a batch's range."""
    runs = context.instance.get_runs(RunsFilter(job_name=metric_imports_job.name, statuses=_IN_FLIGHT))
    keys = {run.tags["dagster/partition"] for run in runs if "dagster/partition" in run.tags}
    ranges = [bounds for run in runs if (bounds := partition_range_of(run.tags))]
    if ranges:
        ordered = context.instance.get_dynamic_partitions(metric_import_file_partitions.name)
        for first, last in ranges:
            keys.update(keys_in_range(ordered, first, last))
    return keys
