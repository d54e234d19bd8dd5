"""`imported_metrics`: one metric JSON file from S3 into PostgreSQL `metrics`, all rows or none (seed 000).

One partition per file (the S3 key), so every import is its own run in the UI and can be re-run alone. The
file's rows and its ledger row commit in one transaction; transient database errors retry that whole
transaction with backoff; bad input is quarantined, dead-lettered and announced, and never retried.
"""

import random
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ecom_pipeline.constants import LAMBDA_SIZE_TAG, METRIC_IMPORTS_GROUP
from ecom_pipeline.metric_imports.copy_format import copy_text
from ecom_pipeline.metric_imports.selection import normalize_etag
from ecom_pipeline.metric_imports.validation import (
    MetricFile,
    MetricFileRejected,
    check_size,
    parse_metric_file,
)
from ecom_pipeline.partitions import metric_import_file_partitions
from resources.aws import CloudWatchMetricsResource, SnsResource, SqsResource
from resources.metric_import_dead_letters import DeadLetters, publish_counts
from resources.metric_import_store import (
    TRANSIENT_DB_ERRORS,
    FileRowStats,
    FileVersion,
    ImportOutcome,
    ImportTables,
    file_row_stats,
    import_file_rows,
    record_failure,
    record_rejection,
)
from resources.metric_imports import MetricImportsConfig
from resources.rds import RdsPostgresResource

ROW_COUNT_CHECK = "row_count_matches_file"
NO_DUPLICATES_CHECK = "no_duplicate_name_timestamp"
_PREVIEW_RECORDS = 5

T = TypeVar("T")


@asset(
    partitions_def=metric_import_file_partitions,
    group_name=METRIC_IMPORTS_GROUP,
    kinds={"s3", "postgres"},
    op_tags={LAMBDA_SIZE_TAG: "small"},
    check_specs=[
        AssetCheckSpec(
            ROW_COUNT_CHECK,
            asset="imported_metrics",
            description="Rows in `metrics` from this file equal the file's record count.",
        ),
        AssetCheckSpec(
            NO_DUPLICATES_CHECK,
            asset="imported_metrics",
            description="No (name, timestamp) appears twice among this file's rows.",
        ),
    ],
)
def imported_metrics(
    context: AssetExecutionContext,
    rds: RdsPostgresResource,
    sqs: SqsResource,
    sns: SnsResource,
    cloudwatch: CloudWatchMetricsResource,
    metric_imports: MetricImportsConfig,
) -> Iterator[MaterializeResult]:
    """Metric records of one JSON file under `imports/` of the imports bucket, in the `metrics` table."""
    config = metric_imports
    key = context.partition_key
    tables = ImportTables(config.db_schema, config.metrics_table, config.ledger_table)
    s3_client = config.s3_client()
    dead_letters = DeadLetters(s3_client, sqs, sns, config, run_id=context.run_id)
    started = time.perf_counter()

    file, payload = _download(s3_client, config, key)
    try:
        check_size(key, file.size_bytes, config.max_file_bytes)
        parsed = parse_metric_file(key, payload or b"", config.max_file_bytes)
    except MetricFileRejected as rejected:
        _reject(context, config, rds, tables, dead_letters, cloudwatch, file, rejected)
    rows_text = copy_text(parsed.records, key)
    parse_seconds = time.perf_counter() - started

    def write() -> ImportOutcome:
        return _in_transaction(
            rds,
            lambda conn: import_file_rows(conn, tables, file, rows_text, len(parsed.records), context.run_id),
        )

    try:
        outcome, attempts = _with_db_retries(context, config, write, f"import of {key}")
    except Exception as exc:
        _fail(context, config, rds, tables, dead_letters, cloudwatch, file, exc)
    stats, _ = _with_db_retries(
        context, config, lambda: _in_transaction(rds, lambda c: file_row_stats(c, tables, key)), "checks"
    )
    duration = time.perf_counter() - started
    published = publish_counts(
        context.log,
        cloudwatch,
        config,
        imported=0 if outcome.already_imported else 1,
        rows=outcome.rows_imported,
        duration_seconds=duration,
    )
    yield MaterializeResult(
        metadata=_metadata(config, rds, tables, file, parsed, outcome, attempts, parse_seconds, duration)
        | {"cloudwatch_published": published},
        check_results=_check_results(key, parsed, stats),
    )


def _download(client: Any, config: MetricImportsConfig, key: str) -> tuple[FileVersion, bytes | None]:
    """The file's version and bytes; an oversized body is left unread (the size check rejects it)."""
    try:
        response = client.get_object(Bucket=config.bucket, Key=key)
    except client.exceptions.NoSuchKey:
        raise Failure(
            description=f"s3://{config.bucket}/{key} does not exist (deleted after it was detected?)",
            allow_retries=False,
        ) from None
    file = FileVersion(config.bucket, key, normalize_etag(response["ETag"]), int(response["ContentLength"]))
    if file.size_bytes > config.max_file_bytes:
        response["Body"].close()
        return file, None
    return file, response["Body"].read()


def _in_transaction(rds: RdsPostgresResource, work: Callable[..., T]) -> T:
    """One transaction on the process's reused connection (a warm Lambda or a long step keeps it); on any
    error it is rolled back, and a connection that died is discarded so the retry opens a new one."""
    with rds.transaction() as conn:
        return work(conn)


def _with_db_retries(
    context: AssetExecutionContext, config: MetricImportsConfig, action: Callable[[], T], what: str
) -> tuple[T, int]:
    """Run `action` again on transient database errors, with exponential backoff and jitter."""
    for attempt in range(1, config.db_attempts + 1):
        try:
            return action(), attempt
        except TRANSIENT_DB_ERRORS as exc:
            if attempt == config.db_attempts:
                raise
            delay = config.db_retry_base_seconds * 2 ** (attempt - 1) * (1 + random.random() / 4)
            context.log.warning(
                f"{what}: transient database error {type(exc).__name__} on attempt {attempt}/"
                f"{config.db_attempts}, nothing was committed; retrying in {delay:.1f}s"
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def _reject(
    context: AssetExecutionContext,
    config: MetricImportsConfig,
    rds: RdsPostgresResource,
    tables: ImportTables,
    dead_letters: DeadLetters,
    cloudwatch: CloudWatchMetricsResource,
    file: FileVersion,
    rejected: MetricFileRejected,
) -> NoReturn:
    """Quarantine, dead-letter and announce a bad file, then record it; the ledger row comes last so a
    failure on the way leaves the file due for the sweep."""
    rejection = rejected.rejection
    context.log.error(f"rejected: {rejection.message}")
    quarantined = dead_letters.quarantine(file, rejection)
    sent = dead_letters.send(file, rejection.reason_code, rejection.message, rejection.as_dict())
    _with_db_retries(
        context,
        config,
        lambda: _in_transaction(
            rds, lambda conn: record_rejection(conn, tables, file, rejection, quarantined, context.run_id)
        ),
        f"ledger of {file.key}",
    )
    publish_counts(context.log, cloudwatch, config, rejected=1)
    raise Failure(
        description=rejection.message,
        metadata={
            "file": MetadataValue.url(f"s3://{file.bucket}/{file.key}"),
            "reason_code": rejection.reason_code,
            "record_index": rejection.record_index if rejection.record_index is not None else -1,
            "field": rejection.field or "",
            "invalid_records": rejection.invalid_records,
            "quarantined_to": MetadataValue.url(f"s3://{file.bucket}/{quarantined}"),
            "dlq_messages_sent": sent,
            "problems": MetadataValue.md("\n".join(f"- {p.describe()}" for p in rejection.problems) or "-"),
        },
        allow_retries=False,
    )


def _fail(
    context: AssetExecutionContext,
    config: MetricImportsConfig,
    rds: RdsPostgresResource,
    tables: ImportTables,
    dead_letters: DeadLetters,
    cloudwatch: CloudWatchMetricsResource,
    file: FileVersion,
    exc: Exception,
) -> NoReturn:
    """The database kept failing: nothing of the file was committed; mark it failed for the sweep."""
    error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    message = f"{file.key}: import failed after {config.db_attempts} attempts, no rows written ({error})"
    context.log.error(message)
    try:
        _in_transaction(rds, lambda conn: record_failure(conn, tables, file, message, context.run_id))
    except Exception as ledger_exc:  # the database is the thing failing; the sweep still finds the file
        context.log.warning(f"could not mark {file.key} failed in the ledger: {type(ledger_exc).__name__}")
    dead_letters.send(file, "database_error", message, {"error": error}, best_effort=True)
    publish_counts(context.log, cloudwatch, config, failed=1)
    raise Failure(description=message, metadata={"error_type": type(exc).__name__}) from exc


def _metadata(
    config: MetricImportsConfig,
    rds: RdsPostgresResource,
    tables: ImportTables,
    file: FileVersion,
    parsed: MetricFile,
    outcome: ImportOutcome,
    attempts: int,
    parse_seconds: float,
    duration: float,
) -> dict[str, object]:
    preview = parsed.records[:_PREVIEW_RECORDS]
    table = "\n".join(
        ["| # | name | value | timestamp |", "|---|---|---|---|"]
        + [f"| {i} | {r.name} | {r.value} | {r.timestamp.isoformat()} |" for i, r in enumerate(preview)]
    )
    return {
        "status": "already_imported" if outcome.already_imported else "imported",
        "file": MetadataValue.url(f"s3://{file.bucket}/{file.key}"),
        "etag": file.etag,
        "size_bytes": file.size_bytes,
        "records_in_file": len(parsed.records),
        "rows_imported": outcome.rows_imported,
        "rows_replaced": outcome.rows_replaced,
        "db_attempts": attempts,
        "read_and_validate_seconds": round(parse_seconds, 4),
        "duration_seconds": round(duration, 4),
        "rows_per_second": round(outcome.rows_imported / duration, 1) if duration > 0 else 0.0,
        "table": tables.describe_metrics(),
        "database": rds.dsn_description(),
        "first_records": MetadataValue.md(table),
    }


def _check_results(key: str, parsed: MetricFile, stats: FileRowStats) -> list[AssetCheckResult]:
    expected = len(parsed.records)
    duplicates = "\n".join(f"- {name} @ {ts.isoformat()}: {n} rows" for name, ts, n in stats.duplicate_groups)
    return [
        AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=stats.row_count == expected,
            metadata={"file": key, "rows_in_table": stats.row_count, "records_in_file": expected},
        ),
        AssetCheckResult(
            check_name=NO_DUPLICATES_CHECK,
            passed=not stats.duplicate_groups,
            metadata={
                "file": key,
                "duplicate_groups": len(stats.duplicate_groups),
                "examples": MetadataValue.md(duplicates or "none"),
            },
        ),
    ]
