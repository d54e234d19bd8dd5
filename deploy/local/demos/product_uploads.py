"""Vendor uploads demo: three sample CSVs through `product_uploads_sensor` and `product_uploads_job`.

A clean VEND001 file must end `completed`, a VEND002 file with one row per defect `completed_with_errors`
(7 rows rejected, error report next to it) and a VEND404 file (no such vendor) `rejected` with a failed run.
A second sensor tick must request nothing new (duplicate events are harmless). Re-running the demo re-uses
the same objects (same ETag), so their run keys are already launched and only the outcomes are re-checked.
"""

import hashlib
import os

import boto3
import psycopg2
from botocore.exceptions import ClientError

from deploy.local.demos.base import DemoContext, DemoError, DemoSummary
from deploy.local.sources.vendor_files import VENDOR_CSV_DEFECTS, demo_vendor_files
from ecom_pipeline.product_uploads.object_keys import UPLOAD_KEY_TAG, parse_upload_key
from ecom_pipeline.s3_objects import normalize_etag

SENSOR = "product_uploads_sensor"
JOB = "product_uploads_job"
EXPECTED_STATUS = {"VEND001": "completed", "VEND002": "completed_with_errors", "VEND404": "rejected"}


def _put_unless_same(s3, bucket: str, key: str, body: bytes) -> None:
    """Upload only if the object is missing or differs, so a repeated demo does not create new uploads."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if normalize_etag(head["ETag"]) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")


def _history(dsn: str, upload_ids: list[str]) -> dict[str, tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT upload_id, status, total_records, valid_records, error_records FROM upload_history "
            "WHERE upload_id = ANY(%s)",
            (upload_ids,),
        )
        rows = {row[0]: row[1:] for row in cur.fetchall()}
    conn.close()
    return rows


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="product_uploads")
    bucket = os.environ["UPLOADS_BUCKET"]
    s3 = boto3.client("s3")
    files = demo_vendor_files()
    for key, body in files.items():
        _put_unless_same(s3, bucket, key, body)
        ctx.log(f"  s3://{bucket}/{key} ({len(body)} bytes)")

    requests = {r.tags[UPLOAD_KEY_TAG]: r for r in ctx.evaluate_sensor(SENSOR)}
    missing = sorted(set(files) - set(requests))
    if missing:
        raise DemoError(f"{SENSOR} did not request runs for {missing}")
    partition_of: dict[str, str] = {}
    for key in files:
        request = requests[key]
        vendor = parse_upload_key(key).vendor_id
        etag = normalize_etag(s3.head_object(Bucket=bucket, Key=key)["ETag"])
        if request.run_key != f"{key}:{etag}":
            raise DemoError(f"run key {request.run_key!r} is not key + ETag")
        outcome = ctx.launch(request, JOB)
        upload_id = request.partition_key or ""
        if outcome.skipped_duplicate and upload_id not in _history(
            os.environ["ECOM_SOURCE_DSN"], [upload_id]
        ):
            # `make seed` reset the source database since that run: re-materialize the partition, as a user
            # would from the UI (no run key, so the daemon's dedupe does not apply).
            ctx.log(f"  {upload_id}: not in upload_history since the last seed; materializing it again")
            outcome = ctx.launch(request.with_replaced_attrs(run_key=None), JOB)
        summary.add(outcome)
        partition_of[vendor] = upload_id
        if not outcome.skipped_duplicate and outcome.success != (vendor != "VEND404"):
            raise DemoError(f"run of {key} {'succeeded' if outcome.success else 'failed'} unexpectedly")
        validated = outcome.metadata.get("validated_products", {})
        summary.rows += int(validated.get("total_records", 0))
        if vendor == "VEND002" and validated:
            report = str(validated.get("error_report_s3", ""))
            if "error_reports/" not in report:
                raise DemoError(f"VEND002 upload has no error report ({report!r})")
            summary.notes.append(f"error report {report}")

    histories = _history(os.environ["ECOM_SOURCE_DSN"], list(partition_of.values()))
    for vendor, upload_id in partition_of.items():
        status, total, valid, rejected = histories.get(upload_id, (None, None, None, None))
        if status != EXPECTED_STATUS[vendor]:
            raise DemoError(
                f"upload {upload_id} ({vendor}) is {status!r}, expected {EXPECTED_STATUS[vendor]!r}"
            )
        if vendor == "VEND002" and (valid, rejected) != (
            total - len(VENDOR_CSV_DEFECTS),
            len(VENDOR_CSV_DEFECTS),
        ):
            raise DemoError(f"VEND002 upload counts valid={valid} rejected={rejected} of {total}")
        ctx.log(f"  {upload_id}: {status} (total {total}, valid {valid}, rejected {rejected})")

    again = [r for r in ctx.evaluate_sensor(SENSOR) if r.tags[UPLOAD_KEY_TAG] in files]
    for request in again:  # only the sweep may re-find them; their run keys must be skipped
        if not ctx.launch(request, JOB).skipped_duplicate:
            raise DemoError(f"duplicate discovery of {request.tags[UPLOAD_KEY_TAG]} launched a second run")
    summary.notes.append(f"statuses {', '.join(f'{v}={EXPECTED_STATUS[v]}' for v in partition_of)}")
    return summary
