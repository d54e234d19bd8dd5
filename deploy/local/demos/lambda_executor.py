"""Demo: a real pipeline job on the Lambda executor through the local Lambda API.

A fresh metric JSON file and a fresh vendor CSV go to their buckets and become partitions and run requests
the way the pipelines' sensors make them (their own demos exercise the sensors), and the requests run as
`metric_imports_job_on_lambda` (one small step) and `product_uploads_job_on_lambda` (two large steps): every step is an asynchronous invocation of a
step function (moto + a local worker process) that executes against the stack's PostgreSQL instance. The
demo prints which step ran in which invocation and raises unless the file was imported by a Lambda.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psycopg2
from dagster import DagsterEventType, RunRequest, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

from assets.partitions import metric_import_file_partitions, product_upload_partitions
from deploy.local.demos.base import RUN_KEY_TAG, DemoContext, DemoError, DemoSummary
from deploy.local.lambda_functions import ensure_step_functions
from deploy.local.sources.metric_files import metric_json
from deploy.local.sources.vendor_files import upload_key, vendor_csv
from ecom_pipeline.lambda_executor import markers
from ecom_pipeline.metric_imports.selection import import_run_key
from ecom_pipeline.s3_objects import normalize_etag
from resources.s3_objects import head_object_version
from sensors.metric_imports import ETAG_TAG, TRIGGER_TAG
from sensors.product_uploads import upload_run_request

REPO_ROOT = Path(__file__).resolve().parents[3]
JOB_NAME = "metric_imports_job_on_lambda"
DEMO_ROWS = 40
UPLOAD_JOB_NAME = "product_uploads_job_on_lambda"
UPLOAD_VENDOR = "VEND001"
UPLOAD_ROWS = 25


def launch_on_lambda(ctx: DemoContext, request: RunRequest, job_name: str):
    """Like DemoContext.launch, but through execute_job: execute_in_process would ignore the job's executor,
    and the step functions must load the job from the code location by the name the orchestrator uses."""
    repository = ReconstructableRepository.for_module(
        "ecom_pipeline.definitions", "defs", working_directory=str(REPO_ROOT)
    )
    tags = {**(request.tags or {}), "dagster/partition": request.partition_key}
    if request.run_key:
        tags[RUN_KEY_TAG] = request.run_key
    return execute_job(
        repository.get_reconstructable_job(job_name),
        instance=ctx.instance,
        run_config=request.run_config or None,
        tags=tags,
        raise_on_error=False,
    )


def invocations_by_step(ctx: DemoContext, run_id: str) -> list[dict]:
    rows = []
    for entry in ctx.instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        metadata = {k: v.value for k, v in entry.dagster_event.engine_event_data.metadata.items()}
        if metadata.get(markers.MARKER_KEY) == markers.STARTED:
            rows.append({"step": entry.step_key, **metadata})
    return rows


def verify_ran_in_lambda(ctx: DemoContext, result, job_name: str, partition: str) -> list[dict]:
    """Raise unless the run succeeded and every step ran in a Lambda invocation; print step -> request id."""
    if not result.success:
        raise DemoError(f"run {result.run_id} of {job_name} for {partition} failed")
    invocations = invocations_by_step(ctx, result.run_id)
    steps = {e.step_key for e in ctx.instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_SUCCESS)}
    if not steps or {row["step"] for row in invocations} != steps:
        raise DemoError(f"steps {sorted(steps)} did not each run in a Lambda invocation: {invocations}")
    worker_pids = {
        e.dagster_event.event_specific_data.metadata["pid"].value
        for e in ctx.instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_WORKER_STARTED)
    }
    if str(os.getpid()) in worker_pids:
        raise DemoError("a step ran in the demo's own process, not in a function")
    ctx.log(
        f"run {result.run_id[:8]} {job_name} [{partition}] succeeded; steps and their Lambda invocations:"
    )
    for row in invocations:
        ctx.log(
            f"  {row['step']:<28} attempt {row['attempt']}  {row[markers.FUNCTION_KEY]}  "
            f"request {row[markers.REQUEST_ID_KEY]}  {'cold' if row.get('cold start') else 'warm'}"
            f"  (launch -> handler {row.get('launch to handler (s)', float('nan')):.2f}s)"
        )
    if not result.get_asset_materialization_events():
        raise DemoError(f"run {result.run_id} materialized nothing")
    return invocations


def _count(summary: DemoSummary, result, invocations: list[dict]) -> None:
    evaluations = result.get_asset_check_evaluations()
    summary.runs_succeeded += 1
    summary.assets_materialized += len(result.get_asset_materialization_events())
    summary.checks_passed += sum(1 for e in evaluations if e.passed)
    summary.checks_failed += sum(1 for e in evaluations if not e.passed)
    summary.notes.append(f"{result.dagster_run.job_name}: {len(invocations)} step(s) in Lambda invocations")


def run_metric_import(ctx: DemoContext, summary: DemoSummary) -> None:
    bucket = os.environ["IMPORTS_BUCKET"]
    key = f"imports/lambda_demo_{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:8]}.json"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=metric_json(DEMO_ROWS, seed=7))
    ctx.log(f"put s3://{bucket}/{key} ({DEMO_ROWS} records)")

    etag = normalize_etag(boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"])
    ctx.instance.add_dynamic_partitions(metric_import_file_partitions.name, [key])
    request = RunRequest(
        run_key=import_run_key(key, etag),
        partition_key=key,
        tags={ETAG_TAG: etag, TRIGGER_TAG: "lambda_demo"},
    )
    result = launch_on_lambda(ctx, request, JOB_NAME)
    _count(summary, result, verify_ran_in_lambda(ctx, result, JOB_NAME, key))
    summary.rows += DEMO_ROWS


def run_product_upload(ctx: DemoContext, summary: DemoSummary) -> None:
    bucket = os.environ["UPLOADS_BUCKET"]
    s3 = boto3.client("s3")
    key = upload_key(UPLOAD_VENDOR, datetime.now(UTC))
    s3.put_object(Bucket=bucket, Key=key, Body=vendor_csv(UPLOAD_VENDOR, UPLOAD_ROWS), ContentType="text/csv")
    ctx.log(f"put s3://{bucket}/{key} ({UPLOAD_ROWS} rows)")
    request = upload_run_request(head_object_version(s3, bucket, key), "uploads/")
    ctx.instance.add_dynamic_partitions(product_upload_partitions.name, [request.partition_key])
    result = launch_on_lambda(ctx, request, UPLOAD_JOB_NAME)
    invocations = verify_ran_in_lambda(ctx, result, UPLOAD_JOB_NAME, request.partition_key)
    if len(invocations) < 2:
        raise DemoError(f"{UPLOAD_JOB_NAME} ran {len(invocations)} step(s), expected staging and validation")
    sizes = {row[markers.FUNCTION_KEY] for row in invocations}
    if sizes != {"ecom-pipeline-step-large-" + os.environ.get("ECOM_ENV", "local")}:
        raise DemoError(f"upload steps ran in {sizes}, expected the large function (op tag ecom/lambda_size)")
    with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM upload_history WHERE upload_id = %s", (request.partition_key,))
        status = (cur.fetchone() or [None])[0]
    conn.close()
    if status != "completed":
        raise DemoError(
            f"upload {request.partition_key} is {status!r} after its Lambda run, expected 'completed'"
        )
    _count(summary, result, invocations)
    summary.rows += UPLOAD_ROWS


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="lambda_executor")
    functions = ensure_step_functions()
    ctx.log(f"step functions: {', '.join(sorted(functions))}")
    run_metric_import(ctx, summary)
    run_product_upload(ctx, summary)
    return summary


if __name__ == "__main__":
    from dagster import DagsterInstance

    from ecom_pipeline.definitions import defs

    print(run(DemoContext(instance=DagsterInstance.get(), defs=defs)))
