"""`imported_metrics`: metric JSON files from S3 into PostgreSQL `metrics`, each file all rows or none.

One partition per file (the S3 key), so every import is visible in the UI and can be re-run alone. A run
covers one file or a range of them (the sensor batches new files, backfills run `METRIC_IMPORT_FILES_PER_RUN` at a time):
per-run overhead would otherwise cost more than the import of a typical file. Each file still commits in its
own transaction with its ledger row and gets its own materialization; transient database errors retry that
transaction with backoff; bad input is quarantined, dead-lettered and announced, and never retried.
"""

import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass

from dagster import (
    AssetCheckEvaluation,
    AssetExecutionContext,
    AssetMaterialization,
    AssetObservation,
    BackfillPolicy,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from assets.metric_imports.checks import IMPORTED_METRICS_CHECKS, check_evaluations
from assets.metric_imports.run_files import describe_outcome, run_files_metadata, run_files_table
from assets.partitions import (
    METRIC_IMPORT_FILES_PER_RUN,
    materializations_of_run,
    metric_import_file_partitions,
)
from assets.pools import METRICS_DB_POOL
from ecom_pipeline.constants import LAMBDA_SIZE_TAG, METRIC_IMPORTS_GROUP
from ecom_pipeline.metric_imports.quarantine import PreparedFile
from ecom_pipeline.metric_imports.selection import FAILED, IMPORTED, REJECTED
from resources.aws import CloudWatchMetricsResource, SnsResource, SqsResource
from resources.metric_imports.cloudwatch_counts import publish_counts
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.dead_letters import DeadLetters
from resources.metric_imports.file_reader import prepared_in_order
from resources.metric_imports.file_writer import SUCCEEDED, FileImporter, FileOutcome
from resources.metric_imports.ledger import ImportTables
from resources.rds import RdsPostgresResource


@asset(
    partitions_def=metric_import_file_partitions,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=METRIC_IMPORT_FILES_PER_RUN),
    group_name=METRIC_IMPORTS_GROUP,
    kinds={"s3", "postgres"},
    op_tags={LAMBDA_SIZE_TAG: "small"},
    output_required=False,  # materializations are yielded per file, as each one commits
    check_specs=IMPORTED_METRICS_CHECKS,
    pool=METRICS_DB_POOL,  # each step holds `db_writers` connections to the metrics database
)
def imported_metrics(
    context: AssetExecutionContext,
    rds: RdsPostgresResource,
    sqs: SqsResource,
    sns: SnsResource,
    cloudwatch: CloudWatchMetricsResource,
    metric_imports_config: MetricImportsConfig,
) -> Iterator[AssetMaterialization | AssetObservation | AssetCheckEvaluation | Output]:
    """Metric records of JSON files under `imports/` of the imports bucket, in the `metrics` table."""
    config = metric_imports_config
    keys = list(context.partition_keys)
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    s3_client = config.client("s3")
    importer = FileImporter(
        context.log,
        context.run_id,
        config,
        rds,
        tables,
        DeadLetters(s3_client, sqs, sns, config, context.run_id),
    )
    run_context: dict[str, object] = {
        "files_in_run": len(keys),
        "db_writers": config.db_writers,
        "table": tables.describe_metrics(),
        "database": rds.dsn_description(),
    }
    started = time.perf_counter()
    progress = _Progress()
    outcomes: list[FileOutcome] = []
    try:
        # Each file is materialized as soon as it is committed: the UI shows a long run's progress partition
        # by partition, and Dagster stores each event while the writers are busy with the next files.
        for outcome in _import_in_order(
            importer, prepared_in_order(s3_client, config, keys), config.db_writers, progress
        ):
            outcomes.append(outcome)
            context.log.info(f"file {len(outcomes)} of {len(keys)}: {describe_outcome(outcome)}")
            if outcome.status in SUCCEEDED:
                if "dagster/column_schema" not in run_context:  # read once per run, when a file has committed
                    columns = importer.metrics_columns()
                    if columns is not None:
                        run_context["dagster/column_schema"] = MetadataValue.table_schema(columns)
                yield AssetMaterialization(
                    asset_key=context.asset_key,
                    partition=outcome.key,
                    metadata=run_context | outcome.metadata,
                )
            elif outcome.status == FAILED:  # the partition shows its attempts and whether the sweep gave up
                yield AssetObservation(
                    asset_key=context.asset_key,
                    partition=outcome.key,
                    metadata=run_context | outcome.metadata,
                )
    finally:
        importer.close()
    counts = Counter(o.status for o in outcomes)
    duration = time.perf_counter() - started
    rows = sum(o.rows_imported for o in outcomes)
    published = publish_counts(
        context.log,
        cloudwatch,
        config,
        imported=counts[IMPORTED],
        rejected=counts[REJECTED],
        failed=counts[FAILED],
        rows=rows,
        duration_seconds=duration,
    )
    done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    context.log.info(
        f"{len(outcomes)} of {len(keys)} files handled ({done}): {rows:,} rows in {duration:.2f}s, "
        f"{progress.waited_for_reads:.2f}s of it waiting for reads; CloudWatch "
        + ("published" if published else "not published")
    )
    # The run's files by key in one table: what a range run did, file by file, on the asset's page.
    yield AssetObservation(asset_key=context.asset_key, metadata=run_files_metadata(keys, outcomes))
    # One result per check and imported file, on the file's partition (also in a range run).
    selected = set(context.selected_asset_check_keys)
    succeeded = [o for o in outcomes if o.status in SUCCEEDED]
    if succeeded and selected:
        targets = materializations_of_run(
            context.instance, context.asset_key, context.run_id, [o.key for o in succeeded]
        )
        yield from check_evaluations(context.asset_key, succeeded, targets, selected)
    for check_key in selected:  # the step's check outputs; the results are the evaluations above
        yield Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(check_key))
    failures = [o for o in outcomes if o.status not in SUCCEEDED]
    if failures:  # the run fails for these files; their partitions show as failed in the UI
        raise _failure(failures, outcomes, len(keys))


@dataclass
class _Progress:
    waited_for_reads: float = 0.0


def _import_in_order(
    importer: FileImporter, prepared_files: Iterator[PreparedFile], writers: int, progress: _Progress
) -> Iterator[FileOutcome]:
    """Hand prepared files to `writers` threads, at most one file each in flight, and yield the outcomes in
    file order. After a database failure no further file is started (those in flight finish), so the rest
    stay untouched for a retry or the sweep. Time spent waiting for the readers adds to `progress`."""
    with (
        closing(prepared_files),
        ThreadPoolExecutor(writers, thread_name_prefix="metric-file-writer") as pool,
    ):
        in_flight: deque[Future[FileOutcome]] = deque()
        stopped = False
        while not stopped:
            mark = time.perf_counter()
            prepared = next(prepared_files, None)
            progress.waited_for_reads += time.perf_counter() - mark
            if prepared is None:
                break
            in_flight.append(pool.submit(importer.handle, prepared))
            while len(in_flight) >= writers or (in_flight and in_flight[0].done()):
                outcome = in_flight.popleft().result()
                stopped = stopped or outcome.status == FAILED
                yield outcome
        for future in in_flight:
            yield future.result()


def _failure(failures: Sequence[FileOutcome], outcomes: Sequence[FileOutcome], planned: int) -> Failure:
    """One failure: its own message and details. Several: how many, and a table of which and why. Bad input
    and missing files are never retried; a database failure is (the files already imported are no-ops then)."""
    retryable = all(o.status == FAILED for o in failures)
    if len(failures) == 1 and planned == 1:
        (only,) = failures
        return Failure(description=only.message, metadata=only.metadata, allow_retries=retryable)
    untouched = planned - len(outcomes)
    summary = f"{len(failures)} of {planned} files not imported" + (
        f", {untouched} not attempted after a database failure" if untouched else ""
    )
    return Failure(
        description=f"{summary}: " + "; ".join(o.message for o in failures[:3]),
        metadata={
            "files_failed": len(failures),
            "files_not_attempted": untouched,
            "failures": run_files_table([o.key for o in failures], failures),
        },
        allow_retries=retryable,
    )
