"""Benchmark: a chain of N trivial steps on the Lambda executor vs the multiprocess executor, in one run.

    python -m bench.lambda_executor [--steps 20]      (make bench-lambda-executor; needs `make stack-up`)

Every figure comes from the run's event log (one machine, one clock):
- handoff: STEP_SUCCESS of step i-1 -> STEP_START of step i, the full cost of a dependent step's launch;
- Lambda split: executor overhead (previous step's success -> invoke returned, i.e. event-log polling plus the
  Invoke call), delivery (invoke -> handler entry), handler (entry -> STEP_START: instance, claim, plan);
- warm start: invoke returned -> STEP_START for invocations served by a reused function process;
- handler import: the function's init phase (Dagster + code location import), reported on cold starts only.
Baselines: Dagster's multiprocess executor as `make dev` runs it (spawn) and its fastest local form
(forkserver, Dagster preloaded), which pay a process start per step instead of an invoke.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from itertools import pairwise

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

from bench.report import RoundResult, append_record
from ecom_pipeline.lambda_executor import lambda_executor, markers
from ecom_pipeline.lambda_executor.sizing import LAMBDA_FUNCTION_TAG

MODULE = "bench.lambda_executor"
GOAL_MS = 300.0


def bench_function_name() -> str:
    return f"ecom-pipeline-step-bench-{os.environ.get('ECOM_ENV', 'local')}"


def make_chain_job(steps: int, executor_kind: str):
    """A linear chain, so every step after the first measures one handoff between dependent steps."""
    tags = {LAMBDA_FUNCTION_TAG: bench_function_name()}

    def make_op(index: int):
        @op(
            name=f"step_{index:02d}", ins={"after": In(Nothing)} if index else {}, out=Out(Nothing), tags=tags
        )
        def _step() -> None:
            sum(range(1000))

        return _step

    ops = [make_op(i) for i in range(steps)]
    executor_def = lambda_executor if executor_kind == "lambda" else multiprocess_executor

    @job(name=f"bench_chain_{executor_kind}_{steps}", executor_def=executor_def)
    def chain():
        previous = ops[0]()
        for step_op in ops[1:]:
            previous = step_op(previous)

    return chain


@dataclass
class StepTimes:
    key: str
    start: float | None = None
    success: float | None = None
    invoked: float | None = None
    handler_entry: float | None = None
    cold: bool = False
    handler_import_s: float | None = None


@dataclass
class RunTimes:
    label: str
    wall_s: float
    success: bool
    steps: dict[str, StepTimes] = field(default_factory=dict)

    def ordered(self) -> list[StepTimes]:
        return [self.steps[k] for k in sorted(self.steps)]

    def handoffs_ms(self) -> list[float]:
        chain = self.ordered()
        return [(b.start - a.success) * 1000 for a, b in pairwise(chain) if a.success and b.start]


def read_run(instance: DagsterInstance, run_id: str, label: str, wall_s: float, success: bool) -> RunTimes:
    times = RunTimes(label, wall_s, success)
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        step = times.steps.setdefault(event.step_key, StepTimes(event.step_key))
        if event.event_type == DagsterEventType.STEP_START:
            step.start = entry.timestamp
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            step.success = entry.timestamp
        elif event.event_type == DagsterEventType.STEP_WORKER_STARTING:
            step.invoked = entry.timestamp
        elif event.event_type == DagsterEventType.ENGINE_EVENT:
            metadata = {k: v.value for k, v in event.engine_event_data.metadata.items()}
            if metadata.get(markers.MARKER_KEY) == markers.STARTED:
                step.handler_entry = entry.timestamp
                step.cold = bool(metadata.get("cold start"))
                step.handler_import_s = metadata.get("handler import (s)")
    return times


def run_chain(instance: DagsterInstance, steps: int, kind: str, run_config: dict, label: str) -> RunTimes:
    recon = build_reconstructable_job(MODULE, "make_chain_job", reconstructable_args=(steps, kind))
    started = time.perf_counter()
    result = execute_job(recon, instance=instance, run_config=run_config, raise_on_error=False)
    wall = time.perf_counter() - started
    return read_run(instance, result.run_id, label, wall, result.success)


def prepare_bench_function() -> None:
    """A fresh configuration (nonce) retires warm workers, so the first step is a true cold start."""
    from deploy.local.lambda_functions import INSTANCE_MODULES, ensure_step_function, step_environment

    preload = f"{INSTANCE_MODULES},{MODULE}"
    env = step_environment({"ECOM_LAMBDA_PRELOAD_MODULES": preload, "ECOM_BENCH_NONCE": uuid.uuid4().hex})
    ensure_step_function(bench_function_name(), memory_mb=512, timeout_s=120, environment=env)


def lambda_peak_rss_mb() -> str:
    """'Max Memory Used' from the function's REPORT log lines, as Lambda reports it.

    Locally that figure is ru_maxrss, which Linux carries over from the forking moto server across exec, so it
    can read as the server's size (see docs/notes-for-stack.md); the smallest report is the honest floor.
    """
    import boto3

    try:
        events = boto3.client("logs").filter_log_events(
            logGroupName=f"/aws/lambda/{bench_function_name()}", filterPattern="REPORT", limit=500
        )["events"]
    except Exception as err:  # logs are a nice-to-have here, never a reason to fail the benchmark
        return f"n/a ({type(err).__name__})"
    used = [
        int(m)
        for e in events
        if (m := e["message"].rpartition("Max Memory Used: ")[2].split(" ")[0]).isdigit()
    ]
    return f"{min(used)}-{max(used)}" if used else "n/a"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):7.1f}  p90 {pct(values, 0.9):7.1f}  max {max(values):7.1f}"


def report(runs: list[RunTimes], steps: int) -> tuple[bool, bool]:
    """Prints the comparison; returns (every run succeeded, both per-step goals met)."""
    print(
        f"\n{'executor':<34}{'ok':>4}{'wall s':>9}{'steps/s':>9}   handoff ms (step i-1 success -> step i start)"
    )
    for r in runs:
        print(
            f"{r.label:<34}{'yes' if r.success else 'NO':>4}{r.wall_s:9.2f}{steps / r.wall_s:9.2f}   {fmt(r.handoffs_ms())}"
        )
    lam = runs[0]
    chain = lam.ordered()
    overhead = [(b.invoked - a.success) * 1000 for a, b in pairwise(chain) if a.success and b.invoked]
    delivery = [
        (s.handler_entry - s.invoked) * 1000 for s in chain if s.invoked and s.handler_entry and not s.cold
    ]
    handler = [
        (s.start - s.handler_entry) * 1000 for s in chain if s.start and s.handler_entry and not s.cold
    ]
    warm_start = [(s.start - s.invoked) * 1000 for s in chain if s.start and s.invoked and not s.cold]
    cold = [s for s in chain if s.cold]
    print("\nLambda executor, per step (ms):")
    print(f"  executor overhead (prev success -> invoke returned) {fmt(overhead)}")
    print(f"  delivery, warm (invoke -> handler entry)           {fmt(delivery)}")
    print(f"  handler, warm (entry -> STEP_START)                {fmt(handler)}")
    print(f"  warm start (invoke returned -> STEP_START)         {fmt(warm_start)}")
    for s in cold:
        to_start = (s.start - s.invoked) * 1000 if s.start and s.invoked else float("nan")
        print(
            f"  cold start {s.key}: handler import (init phase) {s.handler_import_s or float('nan'):.2f} s, "
            f"invoke -> STEP_START {to_start:.0f} ms"
        )
    print(f"  invocations: {len(chain)} ({len(cold)} cold, {len(chain) - len(cold)} warm)")
    base = runs[1:]
    for b in base:
        print(f"  wall-time ratio Lambda / {b.label}: {lam.wall_s / b.wall_s:.2f}")
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  peak RSS: orchestrator {rss_self:.0f} MB; Lambda function process {lambda_peak_rss_mb()} MB; "
        f"largest waited-for child process {rss_children:.0f} MB"
    )
    overhead_ok = bool(overhead) and statistics.median(overhead) < GOAL_MS
    warm_ok = bool(warm_start) and statistics.median(warm_start) < GOAL_MS
    print(
        f"\ngoal: executor overhead < {GOAL_MS:.0f} ms per step (median): {'met' if overhead_ok else 'NOT met'}"
    )
    print(f"goal: warm function starts a step < {GOAL_MS:.0f} ms (median): {'met' if warm_ok else 'NOT met'}")
    return all(r.success for r in runs), overhead_ok and warm_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lambda executor vs multiprocess executor")
    parser.add_argument("--steps", type=int, default=20, help="length of the step chain (default 20)")
    parser.add_argument("--skip-spawn", action="store_true", help="skip the slow spawn baseline")
    parser.add_argument("--record", help="append this round's result (bench/report.py) to this file")
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL") or not os.environ.get("DAGSTER_HOME"):
        print("source .local/stack.env first (make stack-up writes it)", file=sys.stderr)
        return 2
    prepare_bench_function()
    lambda_config = {
        "execution": {"config": {"poll_interval_seconds": 0.05, "health_check_interval_seconds": 5}}
    }
    with DagsterInstance.get() as instance:
        runs = [run_chain(instance, args.steps, "lambda", lambda_config, "lambda (local Lambda API)")]
        forkserver = {
            "execution": {"config": {"start_method": {"forkserver": {"preload_modules": ["dagster"]}}}}
        }
        runs.append(run_chain(instance, args.steps, "multiprocess", forkserver, "multiprocess (forkserver)"))
        if not args.skip_spawn:
            runs.append(run_chain(instance, args.steps, "multiprocess", {}, "multiprocess (spawn, default)"))
    succeeded, goals_met = report(runs, args.steps)
    if args.record and succeeded:
        append_record(
            args.record,
            RoundResult(  # plain reference: the same chain on the fastest local multiprocess executor
                pipeline="lambda_executor",
                workload=f"chain of {args.steps} trivial steps, Lambda vs multiprocess (forkserver)",
                rows=args.steps,
                plain_s=runs[1].wall_s,
                pipeline_s=runs[0].wall_s,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                goal=f"step start < {GOAL_MS:.0f} ms (median)",
                met=goals_met,
            ),
        )
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
