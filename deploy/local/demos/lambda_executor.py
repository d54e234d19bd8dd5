"""Demo: a real pipeline job on the Lambda executor through the local Lambda API.

A fresh metric JSON file goes to the imports bucket and becomes a partition and a run request the way the
import sensor makes them (the metric imports demo exercises the sensor itself), and the request runs as
`metric_import_job_on_lambda`: every step is an asynchronous invocation of a
step function (moto + a local worker process) that executes against the stack's PostgreSQL instance. The
demo prints which step ran in which invocation and raises unless the file was imported by a Lambda.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
from dagster import DagsterEventType, RunRequest, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

from deploy.local.demos.base import RUN_KEY_TAG, DemoContext, DemoError, DemoSummary
from deploy.local.lambda_functions import ensure_step_functions
from deploy.local.sources.metric_files import metric_json
from ecom_pipeline.lambda_executor import markers
from ecom_pipeline.metric_imports.selection import import_run_key, normalize_etag
from ecom_pipeline.partitions import metric_import_file_partitions
from sensors.metric_imports import ETAG_TAG, TRIGGER_TAG

REPO_ROOT = Path(__file__).resolve().parents[3]
JOB_NAME = "metric_import_job_on_lambda"
DEMO_ROWS = 40


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


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="lambda_executor")
    functions = ensure_step_functions()
    ctx.log(f"step functions: {', '.join(sorted(functions))}")

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
    if not result.success:
        raise DemoError(f"run {result.run_id} of {JOB_NAME} for {key} failed")

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

    ctx.log(f"run {result.run_id[:8]} {JOB_NAME} [{key}] succeeded; steps and their Lambda invocations:")
    for row in invocations:
        ctx.log(
            f"  {row['step']:<28} attempt {row['attempt']}  {row[markers.FUNCTION_KEY]}  "
            f"request {row[markers.REQUEST_ID_KEY]}  {'cold' if row.get('cold start') else 'warm'}"
            f"  (launch -> handler {row.get('launch to handler (s)', float('nan')):.2f}s)"
        )
    materializations = result.get_asset_materialization_events()
    evaluations = result.get_asset_check_evaluations()
    summary.runs_succeeded = 1
    summary.assets_materialized = len(materializations)
    summary.checks_passed = sum(1 for e in evaluations if e.passed)
    summary.checks_failed = sum(1 for e in evaluations if not e.passed)
    summary.rows = DEMO_ROWS
    if not materializations:
        raise DemoError(f"run {result.run_id} materialized nothing")
    summary.notes.append(f"{len(invocations)} step(s) in Lambda invocations")
    return summary


if __name__ == "__main__":
    from dagster import DagsterInstance

    from ecom_pipeline.definitions import defs

    print(run(DemoContext(instance=DagsterInstance.get(), defs=defs)))
