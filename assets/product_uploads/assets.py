"""Vendor product onboarding, one partition per uploaded CSV (partition key = upload id).

`product_upload_records` parses and stages: vendor check, upload_history row, every CSV row as an item in the
DynamoDB UploadRecords table. `validated_products` validates: rules, products upsert, rejected rows to SQS,
item statuses, upload_history outcome, the error report next to the upload and an SNS summary.

Re-runs converge instead of repeating: staging is skipped once upload_history says every row is staged, and the
validator only writes items, sends SQS messages and publishes SNS for what actually changed.
"""

import time
from collections.abc import Iterator, Sequence

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from assets.partitions import product_upload_partitions
from assets.pools import PRODUCTS_DB_POOL
from assets.product_uploads.checks import (
    RECORDS_CHECKS,
    VALIDATION_CHECKS,
    error_rate_check,
    no_duplicate_sku_check,
    rows_accounted_check,
    rows_staged_check,
)
from assets.product_uploads.rejection_metadata import rejection_metadata
from assets.product_uploads.validation_step import UploadContext, validate_and_write
from ecom_pipeline.constants import LAMBDA_SIZE_TAG, PRODUCT_UPLOADS_GROUP
from ecom_pipeline.product_uploads.csv_parser import (
    UploadFileError,
    count_data_lines,
    open_upload,
    record_id,
)
from ecom_pipeline.product_uploads.error_report import build_error_report
from ecom_pipeline.product_uploads.object_keys import error_report_key
from ecom_pipeline.product_uploads.records import item_timestamp, product_row, staged_item
from ecom_pipeline.product_uploads.rejections import describe_group, reason_groups
from ecom_pipeline.product_uploads.validation import RowOutcome, error_rate, final_upload_status
from resources.aws import CloudWatchMetricsResource, Metric, SnsResource, SqsResource
from resources.partition_lock import lock_name, locked_partition
from resources.product_uploads import products_table as db
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_objects import UploadSource, download, put_error_report, resolve_upload
from resources.product_uploads.upload_records_table import UploadRecordsResource
from resources.rds import RdsPostgresResource
from resources.table_schemas import table_schema


@asset(
    group_name=PRODUCT_UPLOADS_GROUP,
    partitions_def=product_upload_partitions,
    check_specs=RECORDS_CHECKS,
    op_tags={LAMBDA_SIZE_TAG: "large"},
    kinds={"s3", "dynamodb", "postgres"},
    description="One vendor CSV parsed and staged row by row in DynamoDB UploadRecords (pending_validation).",
)
@locked_partition(lambda context: lock_name("product_uploads", context.partition_key))
def product_upload_records(
    context: AssetExecutionContext,
    rds: RdsPostgresResource,
    product_uploads_records: UploadRecordsResource,
    cloudwatch: CloudWatchMetricsResource,
    product_uploads_config: ProductUploadsConfig,
) -> MaterializeResult:
    started = time.monotonic()
    upload_id = context.partition_key
    client = product_uploads_config.client("s3")
    with db.transaction(rds, product_uploads_config.db_schema) as conn:
        history = db.get_upload(conn, upload_id)
    source = resolve_upload(
        client,
        product_uploads_config.uploads_bucket,
        upload_id,
        dict(context.run.tags),
        history and history.s3_key,
    )
    upload = source.upload
    with db.transaction(rds, product_uploads_config.db_schema) as conn:
        vendor_status = db.vendor_status(conn, upload.vendor_id)
        if vendor_status != "active":
            reason = (
                f"vendor {upload.vendor_id} does not exist"
                if vendor_status is None
                else f"vendor {upload.vendor_id} is {vendor_status}, not active"
            )
            db.reject_upload(
                conn,
                upload_id,
                upload.vendor_id,
                upload.file_name,
                upload.key,
                source.version.last_modified,
                reason,
            )
    if vendor_status != "active":
        raise Failure(f"{source.uri}: upload {upload_id} rejected: {reason}", allow_retries=False)
    with db.transaction(rds, product_uploads_config.db_schema) as conn:
        history = db.start_upload(
            conn, upload_id, upload.vendor_id, upload.file_name, upload.key, source.version.last_modified
        )

    if history.staged:
        total, staged_now, parsed_meta = history.total_records or 0, 0, {"staging": "already staged; skipped"}
    else:
        total, staged_now, parsed_meta = _stage(
            context,
            client,
            source,
            rds,
            product_uploads_config.db_schema,
            product_uploads_records,
            history.staged_at,
            product_uploads_config.max_upload_bytes,
        )
    elapsed = time.monotonic() - started
    if staged_now:
        cloudwatch.put_metrics(
            product_uploads_config.metrics_namespace,
            [
                Metric("CSVRecordsProcessed", total, dimensions={"UploadId": upload_id}),
                Metric("CSVRecordsSuccessful", staged_now, dimensions={"UploadId": upload_id}),
                Metric("CSVProcessingTime", round(elapsed, 3), "Seconds", {"UploadId": upload_id}),
            ],
        )
    return MaterializeResult(
        metadata={
            "dagster/row_count": total,  # one UploadRecords item per data row
            "upload_id": upload_id,
            "vendor_id": upload.vendor_id,
            "upload": MetadataValue.path(source.uri),
            "size_bytes": source.version.size,
            "total_rows": total,
            "items_written": staged_now,
            "dynamodb_table": product_uploads_records.table_name,
            "seconds": round(elapsed, 3),
            "rows_per_second": round(staged_now / elapsed, 1) if staged_now and elapsed else 0.0,
            **parsed_meta,
        },
        check_results=[rows_staged_check(staged_now if not history.staged else total, total)],
    )


def _stage(
    context: AssetExecutionContext,
    client: object,
    source: UploadSource,
    rds: RdsPostgresResource,
    schema: str | None,
    product_uploads_records: UploadRecordsResource,
    created_at: str,
    max_bytes: int,
) -> tuple[int, int, dict]:
    """Download, parse, write every row, then (only then) mark the upload staged: the marker proves every item exists."""
    data = b""
    try:
        data = download(client, source, max_bytes)
        upload = open_upload(data, source.uri)
    except UploadFileError as exc:
        with db.transaction(rds, schema) as conn:
            db.fail_upload(conn, source.upload_id, count_data_lines(data), str(exc))
        raise Failure(
            str(exc), metadata={"upload": MetadataValue.path(source.uri)}, allow_retries=False
        ) from None
    total = upload.total_rows
    with_parse_errors = 0

    def items() -> Iterator[dict]:
        # Rows are parsed as the writer asks for items, so only one batch of rows is in memory at a time.
        nonlocal with_parse_errors
        for row in upload.rows():
            with_parse_errors += bool(row.parse_errors)
            yield staged_item(source.upload_id, source.upload.vendor_id, row, total, created_at)

    written = product_uploads_records.write_items(items())
    with db.transaction(rds, schema) as conn:
        db.mark_staged(conn, source.upload_id, total)
    context.log.info(f"{source.uri}: staged {written} rows as {source.upload_id}")
    return (
        total,
        written,
        {
            "rows_with_parse_errors": with_parse_errors,
            "blank_lines_skipped": upload.blank_lines,
            "utf8_bom": upload.had_bom,
            "ignored_columns": ", ".join(upload.ignored_columns) or "-",
            "missing_optional_columns": ", ".join(upload.missing_optional_columns) or "-",
        },
    )


@asset(
    group_name=PRODUCT_UPLOADS_GROUP,
    partitions_def=product_upload_partitions,
    deps=[product_upload_records],
    check_specs=VALIDATION_CHECKS,
    pool=PRODUCTS_DB_POOL,  # a wide backfill upserts into `products` at most as often as the pool allows
    op_tags={LAMBDA_SIZE_TAG: "large"},
    kinds={"dynamodb", "postgres", "sqs", "sns"},
    description="Staged rows validated: valid ones upserted into products, rejected ones reported (SQS, S3 CSV).",
)
@locked_partition(lambda context: lock_name("product_uploads", context.partition_key))
def validated_products(
    context: AssetExecutionContext,
    rds: RdsPostgresResource,
    product_uploads_records: UploadRecordsResource,
    sqs: SqsResource,
    sns: SnsResource,
    cloudwatch: CloudWatchMetricsResource,
    product_uploads_config: ProductUploadsConfig,
) -> MaterializeResult:
    started = time.monotonic()
    upload_id = context.partition_key
    with db.transaction(rds, product_uploads_config.db_schema) as conn:
        history = db.get_upload(conn, upload_id)
    if history is None or not history.staged:
        state = "no upload_history row" if history is None else f"status {history.status}"
        raise Failure(f"upload {upload_id} is not staged ({state}); materialize product_upload_records first")
    total = history.total_records or 0
    # The staged items are a pure function of the object version (IfMatch on its ETag) and the upload's fixed
    # created_at, so they are rebuilt from S3 instead of read from DynamoDB.
    client = product_uploads_config.client("s3")
    source = resolve_upload(
        client, product_uploads_config.uploads_bucket, upload_id, dict(context.run.tags), history.s3_key
    )
    try:
        upload = open_upload(download(client, source, product_uploads_config.max_upload_bytes), source.uri)
    except UploadFileError as exc:
        raise Failure(
            f"upload {upload_id} was staged but no longer parses: {exc}", allow_retries=False
        ) from None
    if upload.total_rows != total:
        raise Failure(
            f"upload {upload_id}: upload_history says {total} rows, the object has {upload.total_rows}"
        )
    # First pass (still pending_validation, see db.mark_validating): every item is exactly as staged, and the
    # staged marker proves they all exist. Any later run reads each item's status and errors back (projected
    # BatchGetItem) and fails before writing anything if one is missing.
    first_pass = history.status == db.STATUS_STAGED
    stored = (
        None
        if first_pass
        else _stored_states(
            product_uploads_records, upload_id, [record_id(n, total) for n in range(1, total + 1)]
        )
    )
    if first_pass:
        with db.transaction(rds, product_uploads_config.db_schema) as conn:
            db.mark_validating(conn, upload_id)

    def upsert(valid_outcomes: Sequence[RowOutcome]) -> db.UpsertCounts:
        with db.transaction(rds, product_uploads_config.db_schema) as conn:
            return db.upsert_products(
                conn, [product_row(history.vendor_id, upload_id, o) for o in valid_outcomes]
            )

    result = validate_and_write(
        upload.rows(),
        UploadContext(
            upload_id, history.vendor_id, history.s3_key, total, history.staged_at, item_timestamp()
        ),
        stored,
        product_uploads_records,
        lambda messages: sqs.send_messages(product_uploads_config.errors_queue_url, messages),
        upsert,
    )
    valid, rejected, upserted = result.valid_count, result.rejected, result.upserted

    bucket = product_uploads_config.uploads_bucket
    report_uri = None
    report: dict = {"error_report": "none (no rejected rows)"}
    if rejected:
        report_key = error_report_key(source.upload, upload_id)
        report_uri = put_error_report(client, bucket, report_key, build_error_report(rejected))
        report = {
            # A link that opens from the UI, and the object's name for when the link has expired.
            "error_report": MetadataValue.url(product_uploads_config.s3_link(bucket, report_key)),
            "error_report_s3": MetadataValue.path(report_uri),
        }

    status = final_upload_status(valid, len(rejected))
    rate = error_rate(valid, len(rejected))
    groups = reason_groups(rejected)
    summary = {
        "upload_id": upload_id,
        "vendor_id": history.vendor_id,
        "file_name": history.file_name,
        "status": status,
        "total_records": total,
        "valid_records": valid,
        "rejected_records": len(rejected),
        "error_report": report_uri,
        "top_rejection_reasons": [
            {"field": g.field, "reason": g.pattern, "rows": g.rows} for g in groups[:5]
        ],
    }
    published = False
    if history.status != status or history.valid_records != valid:
        sns.publish(product_uploads_config.notifications_topic_arn, f"Upload {upload_id}: {status}", summary)
        published = True
    with db.transaction(rds, product_uploads_config.db_schema) as conn:
        db.finish_upload(conn, upload_id, status, valid, len(rejected))
        duplicates = db.duplicate_skus(conn, history.vendor_id)
        products_columns = table_schema(conn, db.PRODUCTS_TABLE)
    cloudwatch.put_metrics(
        product_uploads_config.metrics_namespace,
        [
            Metric("ProductsValidated", valid, dimensions={"UploadId": upload_id}),
            Metric("ProductsRejected", len(rejected), dimensions={"UploadId": upload_id}),
        ],
    )
    elapsed = time.monotonic() - started
    context.log.info(f"upload {upload_id}: {status}, {valid} valid, {len(rejected)} rejected")
    for group in groups:  # one line per kind of error, with the first row to look at
        context.log.warning(f"upload {upload_id}: {describe_group(group)}")
    outcome = {
        "upload_id": upload_id,
        "vendor_id": history.vendor_id,
        "status": status,
        "total_records": total,
        "valid_records": valid,
        "rejected_records": len(rejected),
        "upload": MetadataValue.path(f"s3://{bucket}/{history.s3_key}"),
        **report,
        **rejection_metadata(rejected, groups),
    }
    if status == db.STATUS_FAILED:
        # Every row was rejected: nothing of the upload reached products, so the partition must not show as
        # materialized. The step fails (red in the partitions view) with the same tables as a materialization.
        raise Failure(
            f"upload {upload_id}: all {total} rows rejected, nothing reached products; "
            + (f"most common: {describe_group(groups[0])}; " if groups else "")
            + f"error report {report_uri}",
            metadata=outcome,
            allow_retries=False,
        )
    return MaterializeResult(
        metadata={
            # The upload's valid rows are its products (inserted, updated or unchanged) in this table.
            "dagster/row_count": valid,
            "dagster/column_schema": MetadataValue.table_schema(products_columns),
            **outcome,
            "error_rate": round(rate, 4),
            "products_inserted": upserted.inserted,
            "products_updated": upserted.updated,
            "products_unchanged": upserted.unchanged,
            "items_status_changed": result.items_changed,
            "items_read_back": "no (first pass)" if first_pass else total,
            "sqs_messages_sent": result.sqs_sent,
            "sns_published": published,
            "seconds": round(elapsed, 3),
            "rows_per_second": round(total / elapsed, 1) if elapsed else 0.0,
        },
        check_results=[
            # What the table now holds: the statuses as read (or as staged), with the written changes applied.
            rows_accounted_check(total, result.statuses, valid, len(rejected)),
            no_duplicate_sku_check(history.vendor_id, duplicates),
            error_rate_check(rate, product_uploads_config.error_rate_warn_threshold, len(rejected), total),
        ],
    )


def _stored_states(records: UploadRecordsResource, upload_id: str, record_ids: list[str]) -> dict[str, dict]:
    """record id -> the item's stored status and errors; raises `Failure` when any item is missing."""
    states = records.get_items(upload_id, record_ids, ("record_id", "status", "validation_errors"))
    by_id = {state["record_id"]["S"]: state for state in states}
    if set(by_id) != set(record_ids):
        raise Failure(
            f"upload {upload_id}: {len(record_ids)} rows, DynamoDB holds {len(by_id)} of their items"
        )
    return by_id
