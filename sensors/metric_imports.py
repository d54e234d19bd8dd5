"""Triggers of the metric imports: new files (the sensor) and a periodic sweep of what it missed (the schedule).

`metric_imports_sensor` turns each new file version under `imports/` into a partition and requests runs keyed by
(key, ETag), so a duplicate event or a re-listing launches nothing twice. New files found in one tick are
batched into runs over a range of their (just added, hence adjacent) partitions, up to
METRIC_IMPORT_FILES_PER_RUN files and METRIC_IMPORT_BYTES_PER_RUN bytes each; a new version of a file that
already has a partition gets a run of its own.

A tick's cost does not grow with the bucket: the sensor lists only keys after its cursor (`StartAfter`) plus
one reconciliation page of the prefix (resources/s3_objects.py `scan_prefix`, cursor
`ecom_pipeline.sensor_cursors.PrefixScanCursor`), and reads the ledger for that page's keys only; the
reconciliation finds what the fast path cannot see (overwritten keys, keys named before the cursor, runs that
never reached the ledger). `metric_imports_sweep_schedule` retries failed imports from the ledger's status
index, with backoff and a limit, and deletes the partitions of files imported longer ago than the retention
(`ecom_pipeline.metric_imports.retention`), a bounded batch per tick, so the instance holds the retention
window's partitions rather than one per file ever imported.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
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
from ecom_pipeline.metric_imports.retention import PartitionRetention, RetainedFile, partitions_to_prune
from ecom_pipeline.metric_imports.selection import (
    RetryPolicy,
    batches_of_new_files,
    is_metric_file_key,
)
from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import PrefixScanCursor
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import (
    ImportTables,
    failed_versions,
    ledger_entries,
    mark_partitions_pruned,
    prunable_files,
)
from resources.rds import RdsPostgresResource
from resources.s3_objects import head_object_version, scan_prefix

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
    description="Runs for new or changed files under the imports prefix: new files batched by partition range; "
    "a bounded listing per tick plus a reconciliation page.",
)
def metric_imports_sensor(
    context: SensorEvaluationContext, metric_imports_config: MetricImportsConfig, rds: RdsPostgresResource
) -> SensorResult | SkipReason:
    config = metric_imports_config
    now = datetime.now(UTC)
    cursor = PrefixScanCursor.from_json(context.cursor)
    scan = scan_prefix(
        config.client("s3"),
        config.bucket,
        config.imports_prefix,
        [config.imports_prefix],
        cursor,
        now,
        budget=MAX_RUNS_PER_TICK,
        wanted=lambda key: is_metric_file_key(key, config.imports_prefix),
    )
    name = metric_import_file_partitions.name
    known: list[S3ObjectVersion] = []
    new: list[S3ObjectVersion] = []
    for obj in scan.fast:
        if not _usable_partition_key(obj.key):
            context.log.error(
                f"cannot import s3://{config.bucket}/{obj.key}: key is not a valid partition key"
            )
        elif context.instance.has_dynamic_partition(name, obj.key):
            known.append(obj)
        else:
            new.append(obj)
    reconciled = _reconcile(context, rds, config, cursor, scan.page, {obj.version for obj in scan.fast}, now)
    missing = [obj.key for obj, _ in reconciled if not context.instance.has_dynamic_partition(name, obj.key)]
    context.log.debug(
        f"{scan.list_calls} listings, {scan.keys_listed} keys: {len(scan.fast)} new, "
        f"{len(reconciled)} from reconciliation pass {cursor.passes}"
    )
    if not new and not known and not reconciled:
        context.update_cursor(cursor.to_json())  # the reconciliation moved on
        return SkipReason(f"no new files under s3://{config.bucket}/{config.imports_prefix}")
    # Added in this order, the new keys end up adjacent in the partition order: each batch is one range.
    return SensorResult(
        run_requests=[
            _batch_run_request(batch)
            for batch in batches_of_new_files(new, METRIC_IMPORT_FILES_PER_RUN, METRIC_IMPORT_BYTES_PER_RUN)
        ]
        + [_run_request(obj, obj.version, "sensor") for obj in known]
        + [_run_request(obj, run_key, "reconciliation") for obj, run_key in reconciled],
        cursor=cursor.to_json(),
        dynamic_partitions_requests=[
            metric_import_file_partitions.build_add_request([obj.key for obj in new] + sorted(set(missing)))
        ],
    )


def _reconcile(
    context: SensorEvaluationContext,
    rds: RdsPostgresResource,
    config: MetricImportsConfig,
    cursor: PrefixScanCursor,
    page: list[S3ObjectVersion],
    found_now: set[str],
    now: datetime,
) -> list[tuple[S3ObjectVersion, str]]:
    """(object, run key) for versions of one reconciliation page that have no ledger row of their own: ones
    modified in the pass's window and not offered yet (a key the fast path cannot see: overwritten, or named
    before its folder's cursor) get the sensor's run key; older ones (requested once, but the run never reached
    the ledger: cancelled, crashed) get one run per hour, as the sweep gave them before. The ledger is read for
    the page's keys only; failed versions are left to the sweep's backoff."""
    candidates = [o for o in page if _usable_partition_key(o.key) and o.version not in found_now]
    if not candidates:
        return []
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    conn = rds.connect()
    try:
        ledger = ledger_entries(conn, tables, [obj.key for obj in candidates])
    finally:
        conn.close()
    unrecorded = [o for o in candidates if o.key not in ledger or ledger[o.key].etag != o.etag]
    if not unrecorded:
        return []
    in_flight = _partitions_in_flight(context)
    hour = now.replace(minute=0, second=0, microsecond=0).isoformat()
    requests = []
    for obj in unrecorded:
        if len(requests) >= MAX_RUNS_PER_TICK:
            break  # the rest stay unoffered: the next pass finds them
        if obj.key in in_flight or (cursor.in_window(obj) and not cursor.sweep_wants(obj)):
            continue  # running, or offered in this window already (its run may not have started yet)
        if cursor.in_window(obj):
            cursor.offer(obj)
            requests.append((obj, obj.version))
        else:
            requests.append((obj, f"reconcile:{hour}:{obj.version}"))
    return requests


@schedule(
    job=metric_imports_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Hourly sweep: retries files whose import failed, with backoff, up to sweep_max_attempts; "
    "deletes the partitions of files imported more than partition_retention_days ago.",
)
def metric_imports_sweep_schedule(
    context: ScheduleEvaluationContext,
    rds: RdsPostgresResource,
    metric_imports_config: MetricImportsConfig,
) -> list[RunRequest] | SkipReason:
    """Failed versions whose retry is due, from the ledger's status index (never the whole ledger, never a
    listing): files never imported or replaced are the sensor's (its reconciliation pages the bucket). Before
    that, the partitions of imported files past the retention are deleted, at most a batch per tick."""
    config = metric_imports_config
    now = context.scheduled_execution_time or datetime.now(UTC)
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    retry = RetryPolicy(config.sweep_max_attempts, timedelta(minutes=config.sweep_backoff_minutes))
    retention = PartitionRetention(config.partition_retention_days, config.partition_prune_batch)
    conn = rds.connect()
    try:
        failed = failed_versions(conn, tables, retry, now, MAX_RUNS_PER_TICK)
        prunable = prunable_files(conn, tables, retention.cutoff(now), retention.batch)
    finally:
        conn.close()
    in_flight = _partitions_in_flight(context) if failed or prunable else set()
    if prunable:
        _prune_partitions(context, rds, tables, retention, prunable, in_flight, now)
    client = config.client("s3")
    due: list[S3ObjectVersion] = []
    for key, entry in failed:
        if key in in_flight or not retry.due(entry, now):
            continue
        try:
            current = head_object_version(client, config.bucket, key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            context.log.warning(f"s3://{config.bucket}/{key} failed to import and is gone: not retried")
            continue
        if current.etag == entry.etag:  # a replaced file is a new version: the sensor's reconciliation has it
            due.append(current)
    if not due:
        return SkipReason(
            f"no failed import due for a retry in {tables.describe_ledger()}: none failed, or each waits for "
            f"its backoff ({config.sweep_backoff_minutes:g} min doubling), is running, or was given up after "
            f"{config.sweep_max_attempts} attempts"
        )
    known = set(context.instance.get_dynamic_partitions(metric_import_file_partitions.name))
    missing = sorted({obj.key for obj in due} - known)
    if missing:
        context.instance.add_dynamic_partitions(metric_import_file_partitions.name, missing)
    # The tick time in the run key: a due file gets at most one run per sweep; the ledger's attempts and
    # last attempt decide (with backoff) whether a failed version is due at all.
    return [_run_request(obj, f"sweep:{obj.version}:{now.isoformat()}", "schedule") for obj in due]


def _prune_partitions(
    context: ScheduleEvaluationContext,
    rds: RdsPostgresResource,
    tables: ImportTables,
    retention: PartitionRetention,
    files: list[RetainedFile],
    in_flight: set[str],
    now: datetime,
) -> list[str]:
    """Delete the partitions of the files due (not in flight), then record it in the ledger. Deleting first
    makes a crash in between harmless: the next sweep deletes again (a missing partition is a no-op)."""
    keys = partitions_to_prune(files, in_flight, retention, now)
    for key in keys:
        context.instance.delete_dynamic_partition(metric_import_file_partitions.name, key)
    if keys:
        with rds.transaction() as conn:
            mark_partitions_pruned(conn, tables, keys, retention.cutoff(now), datetime.now(UTC))
        context.log.info(
            f"deleted {len(keys)} partitions of files imported more than {retention.days} days ago "
            f"(oldest {keys[0]}); their ledger rows in {tables.describe_ledger()} and materializations remain"
        )
    return keys


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
