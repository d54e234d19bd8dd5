"""Demo: one triggered run of each pipeline with every step in a Lambda invocation, as ECOM_STEP_EXECUTOR=lambda
deploys it.

Fresh input lands where each pipeline's trigger looks (a vendor CSV, a metric JSON file, an energy Parquet
file; for bronze, the schedule's next tick), the pipeline's own sensor or schedule turns it into run requests,
and each request is launched as the daemon's run worker would launch it from the code location loaded with
ECOM_STEP_EXECUTOR=lambda (this module's `defs`): every step is an asynchronous invocation of a size-class
step function (moto's Lambda API, run in a local worker process) against the stack's PostgreSQL instance. The
demo prints which step ran in which invocation and raises unless every step did.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import psycopg2
from dagster import DagsterEventType, RunRequest, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

from assets.partitions import partition_range_of
from deploy.local.demos.base import RUN_KEY_TAG, DemoContext, DemoError, DemoSummary
from deploy.local.demos.bronze import TICK as BRONZE_DEMO_TICK
from deploy.local.lambda_functions import ensure_step_functions
from deploy.local.sources.energy_files import energy_key, energy_parquet
from deploy.local.sources.metric_files import metric_json
from deploy.local.sources.vendor_files import upload_key, vendor_csv
from ecom_pipeline.definitions import STEP_EXECUTOR_ENV, build_definitions, step_executor
from ecom_pipeline.lambda_executor import markers
from ecom_pipeline.lambda_executor.sizing import step_function_name

REPO_ROOT = Path(__file__).resolve().parents[3]
# The code location as the daemon loads it with ECOM_STEP_EXECUTOR=lambda; the step functions import this
# module by name to run the steps of the jobs launched from it.
defs = build_definitions(step_executor({STEP_EXECUTOR_ENV: "lambda"}))
LOCATION_MODULE = "deploy.local.demos.lambda_executor"  # not __name__, which is __main__ when run directly
METRIC_FILES = 3
METRIC_ROWS = 40
UPLOAD_VENDOR = "VEND001"
UPLOAD_ROWS = 25
ENERGY_DAY = date(2026, 11, 10)  # not one of the energy demo's days
ENERGY_ROWS = 48


def launch_on_lambda(ctx: DemoContext, request: RunRequest):
    """Launch like the run worker: the job reconstructed from this module by name (execute_in_process would
    ignore the executor), on the stack's instance."""
    repository = ReconstructableRepository.for_module(
        LOCATION_MODULE, "defs", working_directory=str(REPO_ROOT)
    )
    tags = dict(request.tags or {})
    if request.partition_key is not None:
        tags["dagster/partition"] = str(request.partition_key)
    if request.run_key:
        tags[RUN_KEY_TAG] = request.run_key
    return execute_job(
        repository.get_reconstructable_job(request.job_name),
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


def verify_ran_in_lambda(ctx: DemoContext, result, trigger: str, partitions: str) -> list[dict]:
    """Raise unless the run succeeded and every step ran in a Lambda invocation; print step -> request id."""
    job_name = result.dagster_run.job_name
    if not result.success:
        raise DemoError(f"run {result.run_id} of {job_name} [{partitions}] from {trigger} failed")
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
    if not result.get_asset_materialization_events():
        raise DemoError(f"run {result.run_id} materialized nothing")
    ctx.log(f"run {result.run_id[:8]} {job_name} [{partitions}] from {trigger} succeeded; steps in Lambda:")
    for row in sorted(invocations, key=lambda r: r["step"]):
        ctx.log(
            f"  {row['step']:<24} {row[markers.FUNCTION_KEY]}  request {row[markers.REQUEST_ID_KEY]}  "
            f"{'cold' if row.get('cold start') else 'warm'}  "
            f"(launch -> handler {row.get('launch to handler (s)', float('nan')):.2f}s)"
        )
    return invocations


def _partitions(request: RunRequest) -> str:
    bounds = partition_range_of(request.tags or {})
    return f"{bounds[0]} .. {bounds[1]}" if bounds else str(request.partition_key)


def _run_one(
    ctx: DemoContext,
    summary: DemoSummary,
    trigger: str,
    requests: list[RunRequest],
    mine: Callable[[RunRequest], bool],
    rows: int,
) -> list[dict]:
    """Launch the trigger's request for this demo's input (other requests belong to other files)."""
    chosen = [request for request in requests if mine(request)]
    if len(chosen) != 1:
        raise DemoError(f"{trigger} made {len(chosen)} run request(s) for the demo's input, expected 1")
    result = launch_on_lambda(ctx, chosen[0])
    invocations = verify_ran_in_lambda(ctx, result, trigger, _partitions(chosen[0]))
    evaluations = result.get_asset_check_evaluations()
    summary.runs_succeeded += 1
    summary.assets_materialized += len(result.get_asset_materialization_events())
    summary.checks_passed += sum(1 for e in evaluations if e.passed)
    summary.checks_failed += sum(1 for e in evaluations if not e.passed)
    summary.rows += rows
    summary.notes.append(f"{trigger}: {len(invocations)} step(s) in Lambda")
    return invocations


def run_product_upload(ctx: DemoContext, summary: DemoSummary) -> None:
    bucket = os.environ["UPLOADS_BUCKET"]
    key = upload_key(UPLOAD_VENDOR, datetime.now(UTC))
    boto3.client("s3").put_object(
        Bucket=bucket, Key=key, Body=vendor_csv(UPLOAD_VENDOR, UPLOAD_ROWS), ContentType="text/csv"
    )
    ctx.log(f"put s3://{bucket}/{key} ({UPLOAD_ROWS} rows)")
    requests = ctx.evaluate_sensor("product_uploads_sensor")
    invocations = _run_one(
        ctx, summary, "product_uploads_sensor", requests, lambda r: key in str(r.tags), UPLOAD_ROWS
    )
    upload_id = str(next(r for r in requests if key in str(r.tags)).partition_key)
    large = step_function_name(os.environ.get("ECOM_ENV", "local"), "large")
    if {row[markers.FUNCTION_KEY] for row in invocations} != {large}:
        raise DemoError(f"upload steps ran in {invocations}, expected {large} (op tag ecom/lambda_size)")
    with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM upload_history WHERE upload_id = %s", (upload_id,))
        status = (cur.fetchone() or [None])[0]
    conn.close()
    if status != "completed":
        raise DemoError(f"upload {upload_id} is {status!r} after its Lambda run, expected 'completed'")


def run_metric_imports(ctx: DemoContext, summary: DemoSummary) -> None:
    """Several new files in one tick: the sensor batches them into one run over a partition range."""
    bucket = os.environ["IMPORTS_BUCKET"]
    # Named like the other metric files, by time, so a new file sorts after the sensor's cursor and its fast
    # path finds it in this tick (a file named below the cursor waits for the reconciliation pass).
    stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:6]}"
    keys = [f"imports/metrics_{stamp}_lambda_demo_{n}.json" for n in range(METRIC_FILES)]
    for n, key in enumerate(keys):
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=metric_json(METRIC_ROWS, seed=n))
    ctx.log(
        f"put {METRIC_FILES} files under s3://{bucket}/imports/metrics_{stamp}_lambda_demo_* ({METRIC_ROWS} records each)"
    )
    requests = ctx.evaluate_sensor("metric_imports_sensor")

    def covers_mine(request: RunRequest) -> bool:
        bounds = partition_range_of(request.tags or {})
        return bounds is not None and bounds[0] <= keys[0] and keys[-1] <= bounds[1]

    _run_one(ctx, summary, "metric_imports_sensor", requests, covers_mine, METRIC_FILES * METRIC_ROWS)


def run_energy_series(ctx: DemoContext, summary: DemoSummary) -> None:
    bucket = os.environ["SERIES_BUCKET"]
    key = energy_key("generation", ENERGY_DAY)
    body = energy_parquet("generation", ENERGY_DAY, ENERGY_ROWS, seed=int(time.time()))  # a new version
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    ctx.log(f"put s3://{bucket}/{key} ({ENERGY_ROWS} rows)")
    requests = ctx.evaluate_sensor("energy_series_sensor")
    wanted = f"generation|{ENERGY_DAY.isoformat()}"
    _run_one(
        ctx, summary, "energy_series_sensor", requests, lambda r: str(r.partition_key) == wanted, ENERGY_ROWS
    )


def run_bronze(ctx: DemoContext, summary: DemoSummary) -> None:
    """Bronze has no sensor: its schedule's tick, the bronze demo's (a re-run of its partition, which is safe).
    A later tick would move every entity's checkpoint past that partition, and a bronze demo run after it
    on a fresh stack would then extract only its day."""
    requests = ctx.evaluate_schedule("bronze_daily_schedule", BRONZE_DEMO_TICK)
    _run_one(ctx, summary, "bronze_daily_schedule", requests, lambda r: True, 0)


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="lambda_executor")
    functions = ensure_step_functions()
    ctx.log(f"step functions: {', '.join(sorted(functions))}")
    # Triggers do not depend on the executor: ticks go through `ctx`, whose cursors carry over from the other
    # demos, and only the launch uses the lambda code location.
    for step in (run_product_upload, run_metric_imports, run_energy_series, run_bronze):
        step(ctx, summary)
    return summary


if __name__ == "__main__":
    from dagster import DagsterInstance

    print(run(DemoContext(instance=DagsterInstance.get(), defs=defs)))
