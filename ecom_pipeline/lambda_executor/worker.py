"""What a step function does with one invocation: load the step's arguments, guard against duplicate or stale
delivery, and run the step through the body of `dagster api execute_step` against the shared instance.

Running the body in-process (instead of the CLI with DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS) saves the second
interpreter start, about 1.3 s a step, and lets a warm function reuse its imports and instance.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import threading
import time
import uuid
from typing import Any

import boto3
from dagster import DagsterInstance
from dagster._cli.api import _execute_step_command_body
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import deserialize_value, serialize_value
from dagster._utils.interrupts import capture_interrupts

from ecom_pipeline.lambda_executor import markers
from ecom_pipeline.lambda_executor.cancellation import interrupt_on_run_termination
from ecom_pipeline.lambda_executor.claims import step_attempt_claim
from ecom_pipeline.lambda_executor.payload import (
    StepInvocation,
    decode_event,
    decompress_args,
    inline_blob,
    verify_pointer_blob,
)

log = logging.getLogger("ecom_pipeline.lambda_executor.worker")

PRELOAD_ENV = "ECOM_LAMBDA_PRELOAD_MODULES"
CANCEL_POLL_ENV = "ECOM_LAMBDA_CANCEL_POLL_SECONDS"
POOL_RECYCLE_ENV = "ECOM_LAMBDA_PG_POOL_RECYCLE_SECONDS"
_CREDENTIALS_IN_URL = re.compile(r"(://[^:/@\s]+):[^@\s]+@")
_instances: dict[str, DagsterInstance] = {}


def preload_modules() -> dict[str, str]:
    """Import the code location during the function's init phase so the first step doesn't pay for it.

    A failure is kept, not raised: the step's own import then fails inside the handler, which can report it
    to the run, whereas a failed init phase reaches nobody.
    """
    failures: dict[str, str] = {}
    for name in filter(None, (m.strip() for m in os.environ.get(PRELOAD_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except Exception as err:  # reported when the step imports it again
            failures[name] = f"{type(err).__name__}: {err}"
    return failures


def redact(text: str) -> str:
    """Strip passwords from connection URLs that database errors like to quote."""
    return _CREDENTIALS_IN_URL.sub(r"\1:***@", text)


def error_summary(err: BaseException, limit: int = 1000) -> str:
    return redact(f"{type(err).__name__}: {err}")[:limit]


def load_execute_step_args(invocation: StepInvocation, s3_client: Any | None = None) -> ExecuteStepArgs:
    if invocation.args_pointer is not None:
        pointer = invocation.args_pointer
        client = s3_client or boto3.client("s3")
        blob = client.get_object(Bucket=pointer.bucket, Key=pointer.key)["Body"].read()
        blob = verify_pointer_blob(pointer, blob)
    else:
        blob = inline_blob(invocation)
    args = deserialize_value(decompress_args(blob), ExecuteStepArgs)
    if args.run_id != invocation.run_id or list(args.step_keys_to_execute or []) != [invocation.step_key]:
        raise ValueError(
            f"step arguments are for run {args.run_id} steps {args.step_keys_to_execute}, "
            f"the event names run {invocation.run_id} step {invocation.step_key}"
        )
    return args


def instance_for(args: ExecuteStepArgs) -> DagsterInstance:
    """One instance per process and instance config, reused by warm invocations.

    Dagster's PostgreSQL storages open a new connection per query by default (NullPool), about 30 ms each and
    over a dozen per step; a warm function instead keeps one pooled connection per storage, recycled after
    ECOM_LAMBDA_PG_POOL_RECYCLE_SECONDS so a frozen environment does not reuse a connection the server dropped.
    """
    key = serialize_value(args.instance_ref) if args.instance_ref else "DAGSTER_HOME"
    if key not in _instances:
        instance = DagsterInstance.from_ref(args.instance_ref) if args.instance_ref else DagsterInstance.get()
        instance.optimize_for_webserver(
            statement_timeout=0,
            pool_recycle=int(os.environ.get(POOL_RECYCLE_ENV, "60")),
            max_overflow=4,
        )
        _instances[key] = instance
    return _instances[key]


class MarkerReporter:
    """Writes this invocation's markers to the run's event log (and one JSON log line each)."""

    def __init__(
        self,
        instance: DagsterInstance,
        run: DagsterRun,
        invocation: StepInvocation,
        request_id: str,
        function: str,
    ):
        self._instance = instance
        self._run = run
        self._invocation = invocation
        self.request_id = request_id
        self._function = function

    def report(self, kind: str, message: str, **extra: Any) -> None:
        metadata: dict[str, Any] = {
            markers.MARKER_KEY: kind,
            markers.INVOCATION_ID_KEY: self._invocation.invocation_id,
            markers.REQUEST_ID_KEY: self.request_id,
            markers.FUNCTION_KEY: self._function,
            "attempt": self._invocation.attempt,
        }
        metadata.update({k: v for k, v in extra.items() if v is not None})
        self._instance.report_engine_event(
            message, self._run, EngineEventData(metadata=metadata), step_key=self._invocation.step_key
        )
        log.info(json.dumps({"marker": kind, "step_key": self._invocation.step_key, "message": message}))


def _step_outcome(event: DagsterEvent, step_key: str) -> str | None:
    if event.step_key != step_key:
        return None
    if event.is_step_success or event.is_step_failure or event.is_step_up_for_retry:
        return event.event_type_value
    return None


def _context_deadline(context: Any, received_at: float) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return received_at + remaining() / 1000.0


def handle_step_event(
    event: Any, context: Any, handler_import_seconds: float | None = None, cold_start: bool = False
) -> dict[str, Any]:
    """Run one step invocation; returns a summary (the invocation's result for synchronous calls)."""
    received_at = time.time()
    invocation = decode_event(event)
    request_id = getattr(context, "aws_request_id", None) or f"local-{uuid.uuid4()}"
    function = getattr(context, "function_name", None) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_NAME", "unknown"
    )
    summary: dict[str, Any] = {
        "run_id": invocation.run_id,
        "step_key": invocation.step_key,
        "attempt": invocation.attempt,
        "invocation_id": invocation.invocation_id,
        "request_id": request_id,
    }
    args = load_execute_step_args(invocation)
    instance = instance_for(args)
    run = instance.get_run_by_id(args.run_id)
    if run is None:
        raise LookupError(
            f"run {args.run_id} is not in this function's Dagster instance (check DAGSTER_PG_URL)"
        )
    reporter = MarkerReporter(instance, run, invocation, request_id, function)

    if received_at > invocation.start_deadline:
        late = received_at - invocation.start_deadline
        reporter.report(
            markers.EXPIRED,
            f"Refused step {invocation.step_key}: delivered {late:.1f}s after its start deadline, when the "
            "executor has already given up on this invocation",
            **{markers.REASON_KEY: f"delivered {late:.1f}s after the start deadline"},
        )
        return {**summary, "status": "expired"}

    try:
        with step_attempt_claim(instance, invocation.run_id, invocation.step_key, invocation.attempt) as held:
            if not held:
                reporter.report(
                    markers.DUPLICATE,
                    f"Ignored a duplicate delivery of step {invocation.step_key} attempt {invocation.attempt}: "
                    "another invocation is running it",
                )
                return {**summary, "status": "duplicate"}
            reporter.report(
                markers.STARTED,
                f"Lambda {function} request {request_id} is running step {invocation.step_key} "
                f"(attempt {invocation.attempt}{', cold start' if cold_start else ''})",
                **{
                    markers.DEADLINE_KEY: _context_deadline(context, received_at),
                    "cold start": cold_start,
                    "handler import (s)": round(handler_import_seconds, 3)
                    if handler_import_seconds
                    else None,
                    "launch to handler (s)": round(received_at - invocation.launched_at, 3),
                    "arguments": invocation.args_pointer.uri if invocation.args_pointer else "inline",
                },
            )
            return {**summary, **_run_step(args, instance, run, invocation, reporter, received_at)}
    except BaseException as err:
        if not isinstance(err, _StepAlreadyReported):
            reason = error_summary(err)
            reporter.report(
                markers.CRASHED,
                f"Lambda request {request_id} failed before step {invocation.step_key} finished: {reason}",
                **{markers.REASON_KEY: reason},
            )
        raise


class _StepAlreadyReported(Exception):
    """The step body raised after the step reported its outcome; the run already knows."""


def _run_step(
    args: ExecuteStepArgs,
    instance: DagsterInstance,
    run: DagsterRun,
    invocation: StepInvocation,
    reporter: MarkerReporter,
    received_at: float,
) -> dict[str, Any]:
    """The body of `dagster api execute_step`, stopped by the run's termination."""
    outcome = None
    poll = float(os.environ.get(CANCEL_POLL_ENV, "2"))
    terminated = threading.Event()
    try:
        with capture_interrupts():
            with interrupt_on_run_termination(instance, invocation.run_id, poll) as terminated:
                for step_event in _execute_step_command_body(args, instance, run):
                    outcome = _step_outcome(step_event, invocation.step_key) or outcome
    except BaseException as err:
        if terminated.is_set():
            reporter.report(
                markers.FINISHED,
                f"Step {invocation.step_key} stopped: its run was terminated",
                **{markers.OUTCOME_KEY: outcome or "terminated"},
            )
            return {"status": "terminated"}
        if outcome is not None:
            raise _StepAlreadyReported(error_summary(err)) from err
        raise
    duration = time.time() - received_at
    reporter.report(
        markers.FINISHED,
        f"Lambda request {reporter.request_id} finished step {invocation.step_key} in {duration:.2f}s",
        **{
            markers.OUTCOME_KEY: outcome or markers.NO_OUTCOME,
            markers.REASON_KEY: None if outcome else "Dagster's step verification refused to run it",
        },
    )
    return {"status": "finished", "outcome": outcome, "duration_s": round(duration, 3)}
