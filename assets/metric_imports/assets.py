"""`imported_metrics`: metric JSON files from S3 into PostgreSQL `metrics`, each file all rows or none (seed 000).

One partition per file (the S3 key), so every import is visible in the UI and can be re-run alone. A run
covers one file or a range of them (the sensor batches new files, backfills run `FILES_PER_RUN` at a time):
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
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    BackfillPolicy,
    Failure,
    MetadataValue,
    asset,
)

from assets.metric_imports.file_import import (
    SUCCEEDED,
    FileImporter,
    FileOutcome,
    PreparedFile,
    prepared_in_order,
)
from assets.partitions import METRIC_IMPORT_FILES_PER_RUN, metric_import_file_partitions
from ecom_pipeline.constants import LAMBDA_SIZE_TAG, METRIC_IMPORTS_GROUP
from ecom_pipeline.metric_imports.selection import FAILED, IMPORTED, REJECTED
from resources.aws import CloudWatchMetricsResource, SnsResource, SqsResource
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.dead_letters import DeadLetters, publish_counts
from resources.metric_imports.ledger import ImportTables
from resources.rds import RdsPostgresResource

ROW_COUNT_CHECK = "row_count_matches_file"
NO_DUPLICATES_CHECK = "no_duplicate_name_timestamp"
_LISTED_FILES = 20


@asset(
    partitions_def=metric_import_file_partitions,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=METRIC_IMPORT_FILES_PER_RUN),
    group_name=METRIC_IMPORTS_GROUP,
    kinds={"s3", "postgres"},
    op_tags={LAMBDA_SIZE_TAG: "small"},
    output_required=False,  # materializations are yielded per file, as each one commits
    check_specs=[
        AssetCheckSpec(
            ROW_COUNT_CHECK,
            asset="imported_metrics",
            description="Rows in `metrics` from each file of the run equal the file's record count.",
        ),
        AssetCheckSpec(
            NO_DUPLICATES_CHECK,
            asset="imported_metrics",
            description="No (name, timestamp) appears twice among one file's rows.",
        ),
    ],
)
def imported_metrics(
    context: AssetExecutionContext,
    rds: RdsPostgresResource,
    sqs: SqsResource,
    sns: SnsResource,
    cloudwatch: CloudWatchMetricsResource,
    metric_imports_config: MetricImportsConfig,
) -> Iterator[AssetMaterialization | AssetCheckResult]:
    """Metric records of JSON files under `imports/` of the imports bucket, in the `metrics` table."""
    config = metric_imports_config
    keys = list(context.partition_keys)
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    s3_client = config.s3_client()
    importer = FileImporter(
        context, config, rds, tables, DeadLetters(s3_client, sqs, sns, config, context.run_id)
    )
    run_context = {
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
            if outcome.status in SUCCEEDED:
                yield AssetMaterialization(
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
    succeeded = [o for o in outcomes if o.status in SUCCEEDED]
    if succeeded:
        yield from _check_results(succeeded)
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
    lines = ["| file | outcome | reason |", "|---|---|---|"] + [
        f"| {o.key} | {o.status} | {o.message.replace('|', '/')} |" for o in failures[:_LISTED_FILES]
    ]
    summary = f"{len(failures)} of {planned} files not imported" + (
        f", {untouched} not attempted after a database failure" if untouched else ""
    )
    return Failure(
        description=f"{summary}: " + "; ".join(o.message for o in failures[:3]),
        metadata={
            "files_failed": len(failures),
            "files_not_attempted": untouched,
            "failures": MetadataValue.md("\n".join(lines)),
        },
        allow_retries=retryable,
    )


def _check_results(succeeded: Sequence[FileOutcome]) -> list[AssetCheckResult]:
    """One result per check for the run's imported files; the metadata names every file that fails."""
    stats = {o.key: o.stats for o in succeeded if o.stats is not None}
    mismatched = [o for o in succeeded if stats[o.key].row_count != o.records_in_file]
    duplicated = [o for o in succeeded if stats[o.key].duplicate_groups]
    rows_in_table = sum(stats[o.key].row_count for o in succeeded)
    records = sum(o.records_in_file for o in succeeded)
    count_lines = [
        f"- {o.key}: {stats[o.key].row_count} rows in the table, {o.records_in_file} records in the file"
        for o in mismatched[:_LISTED_FILES]
    ]
    duplicate_lines = [
        f"- {o.key}: {name} @ {ts.isoformat()}: {n} rows"
        for o in duplicated[:_LISTED_FILES]
        for name, ts, n in stats[o.key].duplicate_examples
    ]
    files = {"file": succeeded[0].key} if len(succeeded) == 1 else {"files_checked": len(succeeded)}
    return [
        AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=not mismatched,
            metadata=files
            | {
                "rows_in_table": rows_in_table,
                "records_in_file": records,
                "files_mismatched": len(mismatched),
                "mismatches": MetadataValue.md("\n".join(count_lines) or "none"),
            },
        ),
        AssetCheckResult(
            check_name=NO_DUPLICATES_CHECK,
            passed=not duplicated,
            metadata=files
            | {
                "duplicate_groups": sum(stats[o.key].duplicate_groups for o in duplicated),
                "files_with_duplicates": len(duplicated),
                "examples": MetadataValue.md("\n".join(duplicate_lines) or "none"),
            },
        ),
    ]
