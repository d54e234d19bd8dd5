"""Benchmark: a wide fan-out job on the Lambda executor (max_concurrent 10 and 50) and on the multiprocess one.

    python -m bench.lambda_executor_width [--steps 100] [--work-seconds 0.2]
    (make bench-lambda-executor-width; needs `make stack-up`)

Why: bench.lambda_executor times the handoff between dependent steps of a chain; a backfill or a batch of
sensor runs instead has many steps ready at once, where what counts is the executor's cost per step when it
launches, throttles and polls for many of them, and how hard the run writes the instance's event log (every
step writes a dozen rows into PostgreSQL, which the executor then reads back).

The job: one `fan_out` op, then --steps ops that each depend on it and sleep --work-seconds (real work for
the clock, none for the two shared cores). Per configuration it prints:
- wall: the run from launch to end (`execute_job`, orchestrator in this process);
- overhead per step: (wall - ideal) / steps, ideal = steps x work / concurrency (the configured
  max_concurrent), so it holds launch, cold starts, polling and throttling, spread over the steps;
- peak running: most steps between STEP_START and STEP_SUCCESS at one moment (from the event log), the
  concurrency the run actually reached; and the Lambda cold starts (new worker processes);
- event-log rows: rows the run inserted into the instance's `event_logs` table (its PostgreSQL, counted
  by run id), and that count per second of wall time.

The local Lambda runs at most ECOM_LAMBDA_MAX_CONCURRENCY invocations at once (the moto server's setting
when the stack started; default 8) and keeps 4 idle workers per function, so a configuration wider than
that is throttled by the stack, not the executor; "peak running" shows where that happened.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import psycopg2
from dagster import (
    DagsterEventType,
    DagsterInstance,
    In,
    Nothing,
    Out,
    execute_job,
    job,
    multiprocess_executor,
    op,
)
from dagster._core.definitions.reconstruct import build_reconstructable_job

from ecom_pipeline.lambda_executor import lambda_executor, markers
from ecom_pipeline.lambda_executor.sizing import LAMBDA_FUNCTION_TAG

MODULE = "bench.lambda_executor_width"


def bench_function_name() -> str:
    return f"ecom-pipeline-step-bench-width-{os.environ.get('ECOM_ENV', 'local')}"


def make_fan_out_job(steps: int, work_seconds: float, executor_kind: str):
    """`fan_out` then `steps` independent ops after it; Nothing dependencies, as the project's steps."""
    tags = {LAMBDA_FUNCTION_TAG: bench_function_name()}

    @op(out=Out(Nothing), tags=tags)
    def fan_out() -> None:
        pass

    def make_work(index: int):
        @op(name=f"work_{index:03d}", ins={"after": In(Nothing)}, out=Out(Nothing), tags=tags)
        def _work() -> None:
            time.sleep(work_seconds)

        return _work

    works = [make_work(i) for i in range(steps)]
    executor_def = lambda_executor if executor_kind == "lambda" else multiprocess_executor

    @job(name=f"bench_fan_out_{executor_kind}_{steps}", executor_def=executor_def)
    def fan_out_job():
        root = fan_out()
        for work in works:
            work(root)

    return fan_out_job


@dataclass
class RunFigures:
    label: str
    concurrency: int
    success: bool
    wall_s: float
    peak_running: int
    cold_starts: int
    event_rows: int


def peak_running(instance: DagsterInstance, run_id: str) -> tuple[int, int]:
    """(most steps running at one moment, Lambda cold starts) from the run's event log."""
    edges: list[tuple[float, int]] = []
    cold = 0
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            edges.append((entry.timestamp, 1))
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            edges.append((entry.timestamp, -1))
        elif event.event_type == DagsterEventType.ENGINE_EVENT:
            metadata = {k: v.value for k, v in event.engine_event_data.metadata.items()}
            if metadata.get(markers.MARKER_KEY) == markers.STARTED and metadata.get("cold start"):
                cold += 1
    running = peak = 0
    for _, delta in sorted(edges):  # an end sorts before a start at the same instant
        running += delta
        peak = max(peak, running)
    return peak, cold


def event_log_rows(run_id: str) -> int:
    """Rows of this run in the instance's event_logs table (the instance's own PostgreSQL)."""
    dsn = os.environ["DAGSTER_PG_URL"].replace("postgresql+psycopg2://", "postgresql://", 1)  # SQLAlchemy URL
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        (rows,) = cursor.fetchone()
    conn.close()
    return rows


def run_configuration(
    instance: DagsterInstance, args: argparse.Namespace, kind: str, concurrency: int, label: str
) -> RunFigures:
    if kind == "lambda":
        config = {
            "max_concurrent": concurrency,
            "poll_interval_seconds": 0.1,
            "step_start_timeout_seconds": 600.0,  # 50 cold starts share two cores
        }
    else:
        start = {"forkserver": {"preload_modules": ["dagster"]}}
        config = {"max_concurrent": concurrency, "start_method": start}
    recon = build_reconstructable_job(
        MODULE, "make_fan_out_job", reconstructable_args=(args.steps, args.work_seconds, kind)
    )
    started = time.perf_counter()
    run_config = {
        "execution": {"config": config},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},  # 100 steps' DEBUG lines otherwise
    }
    result = execute_job(recon, instance=instance, run_config=run_config, raise_on_error=False)
    wall = time.perf_counter() - started
    peak, cold = peak_running(instance, result.run_id)
    figures = RunFigures(label, concurrency, result.success, wall, peak, cold, event_log_rows(result.run_id))
    print(f"  {label}: {'ok' if result.success else 'FAILED'} in {wall:.1f} s", flush=True)
    return figures


def prepare_bench_function() -> None:
    """The bench's own step function, preloading this module, so a cold start imports what it runs."""
    from deploy.local.lambda_functions import INSTANCE_MODULES, ensure_step_function, step_environment

    env = step_environment({"ECOM_LAMBDA_PRELOAD_MODULES": f"{INSTANCE_MODULES},{MODULE}"})
    ensure_step_function(bench_function_name(), memory_mb=512, timeout_s=300, environment=env)


def report(runs: list[RunFigures], steps: int, work_s: float) -> None:
    print(
        f"\n{steps} steps of {work_s} s after one fan_out op (ideal = steps x work / concurrency)\n"
        f"{'configuration':<46}{'ok':>4}{'wall s':>8}{'ideal s':>9}{'overhead/step s':>17}"
        f"{'peak running':>14}{'cold':>6}{'event rows':>12}{'rows/s':>8}"
    )
    for r in runs:
        ideal = steps * work_s / r.concurrency
        overhead = (r.wall_s - ideal) / steps
        print(
            f"{r.label:<46}{'yes' if r.success else 'NO':>4}{r.wall_s:8.1f}{ideal:9.1f}{overhead:17.3f}"
            f"{r.peak_running:14d}{r.cold_starts:6d}{r.event_rows:12,d}{r.event_rows / r.wall_s:8.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps after the fan-out op (default 100)")
    parser.add_argument("--work-seconds", type=float, default=0.2, help="each step's sleep (default 0.2)")
    parser.add_argument(
        "--lambda-concurrency", type=int, nargs="+", default=[10, 50], help="max_concurrent values"
    )
    parser.add_argument("--multiprocess-concurrency", type=int, default=10)
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL") or not os.environ.get("DAGSTER_PG_URL"):
        print("source .local/stack.env first (make stack-up writes it)", file=sys.stderr)
        return 2
    prepare_bench_function()
    configurations = [("lambda", n, f"lambda, max_concurrent {n}") for n in args.lambda_concurrency]
    m = args.multiprocess_concurrency
    configurations.append(("multiprocess", m, f"multiprocess (forkserver), max_concurrent {m}"))
    with DagsterInstance.get() as instance:
        runs = [run_configuration(instance, args, *c) for c in configurations]
    report(runs, args.steps, args.work_seconds)
    return 0 if all(r.success for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
