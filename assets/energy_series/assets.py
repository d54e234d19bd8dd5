"""`energy_series`: one (dataset, day) of processed Parquet on S3 written to InfluxDB.

Two kinds of failure are told apart: an unreachable or unhealthy server (InfluxDB, S3) is transient and
becomes a step retry (RetryRequested, "unavailable (503)"); bad input (schema, invalid rows, points the
server rejects) cannot succeed on retry and becomes a Failure that never retries ("bad input (400)"). Points are identified by series
and timestamp, so re-running a partition rewrites the same points and leaves the stored data unchanged.
"""

import os
import tempfile
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from dagster import (
    AssetExecutionContext,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
    TableColumn,
    TableSchema,
    asset,
)

from assets.energy_series.checks import CHECK_SPECS, day_check, drop_rate_check, points_check
from assets.partitions import energy_series_partitions
from assets.pools import INFLUXDB_POOL
from ecom_pipeline.constants import (
    DEFAULT_ENERGY_SERIES_FRESH_BY_HOUR,
    ENERGY_SERIES_FRESH_BY_HOUR_ENV,
    ENERGY_SERIES_GROUP,
    LAMBDA_SIZE_TAG,
    hour_setting,
)
from ecom_pipeline.energy_series.datasets import DATASETS, DatasetSpec, partition_prefix
from ecom_pipeline.energy_series.preparation import (
    ChunkedConversion,
    LoadSettings,
    PreparedFile,
    merge_counts,
    whole_batch_chunk_rows,
)
from ecom_pipeline.energy_series.schema import SchemaError
from ecom_pipeline.energy_series.validation import InvalidRecordsError
from ecom_pipeline.energy_series.write_policy import WriteUnavailableError, write_stream
from ecom_pipeline.errors import BadRequestError, ConfigurationError, ServiceUnavailableError
from resources.aws import CloudWatchMetricsResource, Metric
from resources.energy_series.config import EnergySeriesConfig
from resources.energy_series.processed_files import list_partition_files, read_file
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource
from resources.partition_lock import lock_name, locked_partition
from resources.rds import RdsPostgresResource

REJECTED_BY_SERVER = "rejected_by_server"
# Transport failures reaching S3 are the same 503 as an unreachable InfluxDB: worth a step retry.
S3_UNAVAILABLE = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)


def energy_series_freshness_policy(environ: Mapping[str, str]) -> FreshnessPolicy:
    """Fresh when some (dataset, day) was written in the 24 hours before the daily deadline
    (`ECOM_ENERGY_SERIES_FRESH_BY_HOUR_UTC`, default 12). One policy for the asset: Dagster's freshness
    policies are per asset, not per partition or dataset, so a dataset that stopped arriving while the others
    still do is not flagged by it."""
    hour = hour_setting(environ, ENERGY_SERIES_FRESH_BY_HOUR_ENV, DEFAULT_ENERGY_SERIES_FRESH_BY_HOUR)
    return FreshnessPolicy.cron(deadline_cron=f"0 {hour} * * *", lower_bound_delta=timedelta(hours=24))


def _metrics(
    context: AssetExecutionContext,
    cloudwatch: CloudWatchMetricsResource,
    namespace: str,
    metrics: list[Metric],
) -> None:
    """Metrics are best effort: a CloudWatch outage must not fail a load that already succeeded."""
    try:
        cloudwatch.put_metrics(namespace, metrics)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        context.log.warning(f"CloudWatch metrics not sent: {type(exc).__name__}: {exc}")


def _error_metric(dataset: str, error_type: str) -> Metric:
    return Metric("ProcessingErrors", 1, dimensions={"DatasetType": dataset, "ErrorType": error_type})


def point_schema(spec: DatasetSpec) -> TableSchema:
    """The columns of the points one partition writes: the time, the tags (strings) and the typed fields."""
    return TableSchema(
        columns=[
            TableColumn(spec.time_column, "timestamp[ns, tz=UTC]", description="point time"),
            *(TableColumn(tag, "string", description="tag") for tag in spec.tags),
            *(TableColumn(name, kind, description="field") for name, kind in spec.field_types.items()),
        ]
    )


def _files_table(files: list[PreparedFile], config: EnergySeriesConfig) -> MetadataValue:
    rows = ["| file | bytes | input rows | points | dropped |", "|---|---:|---:|---:|---:|"]
    rows += [
        f"| [`{f.key}`]({config.browse_url(f.key)}) | {f.size_bytes} | {f.input_rows} | {f.points} "
        f"| {sum(f.dropped_by_reason.values())} |"
        for f in files[:50]
    ]
    if len(files) > 50:
        rows.append(f"| ... {len(files) - 50} more | | | | |")
    return MetadataValue.md("\n".join(rows))


def _dropped_table(dropped: dict[str, int]) -> MetadataValue:
    rows = ["| reason | rows |", "|---|---:|"] + [
        f"| {reason} | {count} |" for reason, count in sorted(dropped.items())
    ]
    return MetadataValue.md("\n".join(rows) if dropped else "no rows dropped")


def _unavailable(
    context: AssetExecutionContext,
    cloudwatch: CloudWatchMetricsResource,
    config: EnergySeriesConfig,
    dataset: str,
    message: str,
    cause: BaseException | None = None,
) -> NoReturn:
    """Transient: Dagster retries the step (up to `step_retries`); the cause chain says why."""
    context.log.error(f"unavailable (503): {message}")
    _metrics(context, cloudwatch, config.metrics_namespace, [_error_metric(dataset, "ServiceUnavailable")])
    retry = RetryRequested(max_retries=config.step_retries, seconds_to_wait=config.step_retry_wait_seconds)
    raise retry from ServiceUnavailableError(f"unavailable (503): {message}") if cause is None else cause


def _bad_input(
    context: AssetExecutionContext,
    cloudwatch: CloudWatchMetricsResource,
    config: EnergySeriesConfig,
    dataset: str,
    message: str,
    metadata: dict | None = None,
) -> Failure:
    """Bad input: a Failure that forbids retries, since the same input cannot succeed."""
    _metrics(context, cloudwatch, config.metrics_namespace, [_error_metric(dataset, "BadRequest")])
    return Failure(description=f"bad input (400): {message}", metadata=metadata or {}, allow_retries=False)


@asset(
    name="energy_series",
    partitions_def=energy_series_partitions,
    group_name=ENERGY_SERIES_GROUP,
    pool=INFLUXDB_POOL,
    freshness_policy=energy_series_freshness_policy(os.environ),
    kinds={"s3", "parquet", "influxdb"},
    op_tags={LAMBDA_SIZE_TAG: "large"},
    check_specs=CHECK_SPECS,
    description="Processed energy Parquet of one dataset and day, written to InfluxDB as points.",
)
@locked_partition(
    lambda c: lock_name("energy_series", *(c.partition_key.keys_by_dimension[d] for d in ("dataset", "date")))
)
def energy_series(
    context: AssetExecutionContext,
    influxdb: InfluxDBResource,
    cloudwatch: CloudWatchMetricsResource,
    energy_series_config: EnergySeriesConfig,
    energy_series_readback: SeriesReadbackResource,
    rds: RdsPostgresResource,  # the partition lock
) -> MaterializeResult:
    started = time.perf_counter()
    keys = context.partition_key.keys_by_dimension
    dataset, day = keys["dataset"], date.fromisoformat(keys["date"])
    spec: DatasetSpec = DATASETS[dataset]
    config = energy_series_config
    prefix = partition_prefix(dataset, day)

    # Health and auth first: an unreachable server should retry before any S3 read or conversion work.
    health = influxdb.health()
    if health["status"] != "healthy":
        _unavailable(context, cloudwatch, config, dataset, f"InfluxDB unhealthy at {influxdb.url}: {health}")
    try:
        influxdb.check_auth()
    except ServiceUnavailableError as exc:
        _unavailable(context, cloudwatch, config, dataset, str(exc))
    except ConfigurationError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc

    checked = time.perf_counter()
    client = config.client("s3")
    try:
        listed = list_partition_files(client, config.bucket, prefix)
    except S3_UNAVAILABLE as exc:
        _unavailable(context, cloudwatch, config, dataset, f"S3 unreachable: {type(exc).__name__}")
    if not listed:
        raise _bad_input(
            context, cloudwatch, config, dataset, f"no Parquet files under s3://{config.bucket}/{prefix}"
        )
    settings = LoadSettings(config.enable_validation, config.drop_invalid_records)
    chunk_rows = whole_batch_chunk_rows(config.batch_size, config.conversion_chunk_rows)
    with tempfile.TemporaryDirectory(prefix="energy-series-") as staging:
        try:
            files = [
                read_file(client, config.bucket, obj, spec, settings, Path(staging), chunk_rows)
                for obj in listed
            ]
        except S3_UNAVAILABLE as exc:
            _unavailable(context, cloudwatch, config, dataset, f"S3 unreachable: {type(exc).__name__}")
        except (SchemaError, InvalidRecordsError) as exc:
            raise _bad_input(
                context, cloudwatch, config, dataset, str(exc), {"prefix": f"s3://{config.bucket}/{prefix}"}
            ) from exc

        conversion = ChunkedConversion(files, spec, config.bucket, chunk_rows, day)
        prepared_at = time.perf_counter()
        try:
            report = write_stream(
                conversion,
                influxdb.write_lines,
                batch_size=config.batch_size,
                retry=config.retry_settings(),
                transient=(ServiceUnavailableError,),
                rejected=(BadRequestError,),
            )
        except WriteUnavailableError as exc:
            _unavailable(context, cloudwatch, config, dataset, f"{prefix}: {exc}")
    for prepared in files:
        context.log.info(
            f"{prepared.key}: {prepared.points} of {prepared.input_rows} rows converted to points"
        )

    input_rows = sum(f.input_rows for f in files)
    valid_points = sum(f.points for f in files)
    dropped = merge_counts([f.dropped_by_reason for f in files])
    if report.rejected_count:
        dropped[REJECTED_BY_SERVER] = report.rejected_count
    timestamps = conversion.timestamps
    finished = time.perf_counter()
    elapsed = finished - started
    conversion_rate = valid_points / input_rows if input_rows else 1.0

    _metrics(
        context,
        cloudwatch,
        config.metrics_namespace,
        [
            Metric(name, value, unit, {"DatasetType": dataset})
            for name, value, unit in (
                ("PointsWritten", report.points_written, "Count"),
                ("BatchesProcessed", report.batches_processed, "Count"),
                ("ProcessingTime", elapsed, "Seconds"),
                ("ConversionRate", conversion_rate, "None"),
                ("SuccessRate", report.success_rate, "None"),
                ("FailedBatches", report.failed_batches, "Count"),
            )
        ]
        + ([_error_metric(dataset, "RejectedPoint")] if report.rejected_count else []),
    )
    if report.rejected_count and not config.drop_invalid_records:
        raise _bad_input(
            context,
            cloudwatch,
            config,
            dataset,
            f"the server rejected {report.rejected_count} point(s); first: {report.rejected[0].error}",
            {"points_written": report.points_written, "rejected_points": report.rejected_count},
        )

    metadata = {
        # Dagster's standard table keys (TableMetadataSet's, exported only privately in 1.13): the points
        # this partition wrote and their columns.
        "dagster/row_count": MetadataValue.int(report.points_written),
        "dagster/partition_row_count": MetadataValue.int(report.points_written),
        "dagster/column_schema": MetadataValue.table_schema(point_schema(spec)),
        "points_written": report.points_written,
        "batches_processed": report.batches_processed,
        "failed_batches": report.failed_batches,
        "write_retries": report.retries,
        "dataset_type": dataset,
        "measurement": spec.measurement,
        "processing_time_seconds": round(elapsed, 3),
        "seconds_health_check": round(checked - started, 3),
        "seconds_read_and_validate": round(prepared_at - checked, 3),
        "seconds_convert_and_write": round(finished - prepared_at, 3),
        "input_rows": input_rows,
        "output_points": valid_points,
        "conversion_rate": round(conversion_rate, 6),
        "dropped_rows": sum(dropped.values()),
        "dropped_rows_by_reason": _dropped_table(dropped),
        "influxdb_health": health["status"],
        "influxdb_response_time_ms": float(health["response_time_ms"]),
        "influxdb_bucket": influxdb.bucket,
        "source": MetadataValue.url(config.browse_url(prefix)),
        "files": _files_table(files, config),
        "batch_size": config.batch_size,
        "validation_enabled": config.enable_validation,
        "drop_invalid_records": config.drop_invalid_records,
    }
    if report.rejected:
        metadata["rejected_points"] = MetadataValue.json(
            [{"index": r.index, "line": r.line, "error": r.error} for r in report.rejected[:10]]
        )
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            points_check(
                energy_series_readback,
                influxdb,
                spec,
                timestamps,
                valid_points,
                report.points_written,
            ),
            day_check(timestamps),
            drop_rate_check(input_rows, dropped, config.drop_rate_warn_threshold),
        ],
    )
