"""Metric imports demo: the sample JSON files through `metric_imports_sensor` and `metric_imports_job`.

Two good files (50 records each) must end `imported` with their rows in `metrics` exactly once; the broken
file (record 3 has a non-numeric value) must be rejected, sit in the quarantine prefix and have a message on
the dead-letter queue naming record 3, and the run that held it must fail. On a fresh instance the sensor
batches the three new files into one run over their partition range; once their partitions exist (a
repeated demo), each file version gets a run of its own, whose run key was launched already, so only the
outcomes are checked again. A second sensor tick and the schedule's sweep must launch nothing for these files.
"""

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import psycopg2
from botocore.exceptions import ClientError
from dagster import RunRequest

from assets.partitions import keys_in_range, metric_import_file_partitions, partition_range_of
from deploy.local.demos.base import DemoContext, DemoError, DemoSummary
from deploy.local.sources.metric_files import demo_metric_files
from ecom_pipeline.metric_imports.quarantine import quarantine_key
from ecom_pipeline.metric_imports.selection import import_run_key
from ecom_pipeline.s3_objects import normalize_etag

SENSOR = "metric_imports_sensor"
SCHEDULE = "metric_imports_sweep_schedule"
JOB = "metric_imports_job"
QUARANTINE_PREFIX = "quarantine/"  # MetricImportsConfig's default, as build_resources() leaves it
BROKEN_RECORD = 3


def _put_unless_same(s3, bucket: str, key: str, body: bytes) -> str:
    """Upload only if missing or different, so a repeated demo finds the same versions; returns the ETag."""
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
    try:
        if normalize_etag(s3.head_object(Bucket=bucket, Key=key)["ETag"]) == digest:
            return digest
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    return normalize_etag(
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")["ETag"]
    )


def _ledger_and_rows(dsn: str, keys: list[str]) -> dict[str, tuple]:
    """key -> (status, etag, rows_imported, record_index, error, rows in metrics)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT f.file_key, f.status, f.etag, f.rows_imported, f.record_index, f.error, "
            "(SELECT count(*) FROM metrics m WHERE m.source_file = f.file_key) "
            "FROM metric_import_files f WHERE f.file_key = ANY(%s)",
            (keys,),
        )
        rows = {row[0]: row[1:] for row in cur.fetchall()}
    conn.close()
    return rows


def _dead_letter_for(queue_url: str, key: str, etag: str) -> dict | None:
    """Peek (visibility timeout 0, nothing deleted) for the DLQ message of this file version."""
    sqs = boto3.client("sqs")
    for _ in range(30):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("key") == key and body.get("etag") == etag:
                return body
        if not messages:
            return None
    return None


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="metric_imports")
    bucket, dsn = os.environ["IMPORTS_BUCKET"], os.environ["ECOM_SOURCE_DSN"]
    s3 = boto3.client("s3")
    files = demo_metric_files()
    broken = next(key for key in files if key.endswith("_broken.json"))
    etags = {key: _put_unless_same(s3, bucket, key, body) for key, body in files.items()}
    for key, body in files.items():
        ctx.log(f"  s3://{bucket}/{key} ({len(body)} bytes)")

    requests = [(r, _files_of(ctx, r)) for r in ctx.evaluate_sensor(SENSOR)]
    requests = [(r, keys) for r, keys in requests if set(keys) & set(files)]
    covered = [key for _, keys in requests for key in keys if key in files]
    if sorted(covered) != sorted(files):
        raise DemoError(
            f"{SENSOR} requested runs for {sorted(covered)}, expected each of {sorted(files)} once"
        )
    for request, keys in requests:
        first = keys[0]
        if first in etags and not (request.run_key or "").startswith(import_run_key(first, etags[first])):
            raise DemoError(f"run key {request.run_key!r} does not start with key@ETag of {first}")
        if len(keys) > 1:
            ctx.log(f"  one run for {len(keys)} new files: {keys[0]} .. {keys[-1]}")
        outcome = ctx.launch(request, JOB)
        if outcome.skipped_duplicate and set(keys) - set(_ledger_and_rows(dsn, keys)):
            # `make seed` reset the source database since that run: re-materialize the partitions, as a
            # user would from the UI (no run key, so the daemon's dedupe does not apply).
            ctx.log(f"  {', '.join(keys)}: not in the ledger since the last seed; materializing again")
            outcome = ctx.launch(request.with_replaced_attrs(run_key=None), JOB)
        summary.add(outcome)
        only_demo_files = set(keys) <= set(files)  # other files under imports/ may share a batch
        if not outcome.skipped_duplicate and only_demo_files and outcome.success != (broken not in keys):
            raise DemoError(f"run of {keys} {'succeeded' if outcome.success else 'failed'} unexpectedly")

    state = _ledger_and_rows(dsn, list(files))
    for key in files:
        status, etag, imported, record_index, error, in_table = state.get(key, (None,) * 6)
        if etag != etags[key]:
            raise DemoError(f"ledger has {key} at ETag {etag!r}, expected {etags[key]!r}")
        records = len(json.loads(files[key]))
        if key != broken:
            if (status, imported, in_table) != ("imported", records, records):
                raise DemoError(
                    f"{key}: {status}, {imported} imported, {in_table} in metrics; expected {records}"
                )
            summary.rows += in_table
            ctx.log(f"  {key}: imported, {in_table} rows in metrics")
            continue
        if status != "rejected" or record_index != BROKEN_RECORD or in_table != 0:
            raise DemoError(
                f"{key}: {status}, record {record_index}, {in_table} rows; expected rejected at 3"
            )
        s3.head_object(Bucket=bucket, Key=quarantine_key(key, QUARANTINE_PREFIX))
        letter = _dead_letter_for(os.environ["IMPORT_DLQ_URL"], key, etags[key])
        if letter is None or letter.get("record_index") != BROKEN_RECORD:
            raise DemoError(f"no dead letter naming record {BROKEN_RECORD} of {key}")
        ctx.log(f"  {key}: rejected, quarantined, dead-lettered: {error}")
        summary.notes.append(f"quarantined {quarantine_key(key, QUARANTINE_PREFIX)}")

    if any(set(_files_of(ctx, r)) & set(files) for r in ctx.evaluate_sensor(SENSOR)):
        raise DemoError(f"a second {SENSOR} tick requested the same files again")
    swept = [
        r
        for r in ctx.evaluate_schedule(SCHEDULE, datetime.now(UTC) + timedelta(hours=1))
        if r.partition_key in files
    ]
    if swept:
        raise DemoError(f"{SCHEDULE} wants to re-import settled files: {[r.partition_key for r in swept]}")
    summary.notes.append("second tick and sweep: nothing to do")
    return summary


def _files_of(ctx: DemoContext, request: RunRequest) -> list[str]:
    """The file partitions a run request covers: its partition, or its range in the partition order."""
    if request.partition_key is not None:
        return [request.partition_key]
    bounds = partition_range_of(request.tags) or ("", "")
    return keys_in_range(ctx.instance.get_dynamic_partitions(metric_import_file_partitions.name), *bounds)
