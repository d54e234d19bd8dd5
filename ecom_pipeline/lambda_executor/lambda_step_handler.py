"""The orchestrator side: a Dagster StepHandler that runs each step as an asynchronous Lambda invocation.

Nothing raised here may escape `launch_step` (the executor would fail the whole run), so invoke errors are
recorded on the invocation and surface as that step's failure at the next health check, where Dagster's retry
policy applies. Health comes from the handler's markers in the run's event log, read with a cursor.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from dagster import DagsterInstance
from dagster._core.definitions.metadata import MetadataValue
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.executor.step_delegating import CheckStepHealthResult, StepHandler, StepHandlerContext
from dagster._serdes import serialize_value

from ecom_pipeline.lambda_executor.health import InvocationRecord, unhealthy_reason
from ecom_pipeline.lambda_executor.markers import marker_from_metadata
from ecom_pipeline.lambda_executor.payload import (
    ArgsPointer,
    StepInvocation,
    compress_args,
    inline_args,
    needs_pointer,
    pointer_key,
    sha256_hex,
)
from ecom_pipeline.lambda_executor.sizing import function_for_step

_RETRYABLE_INVOKE_ERRORS = {"TooManyRequestsException", "ServiceException", "EC2ThrottledException"}


@dataclass(frozen=True)
class LambdaStepSettings:
    """Executor configuration the step handler needs (see executor.py for the documented config schema)."""

    environment: str
    payload_bucket: str | None
    payload_prefix: str = "lambda-executor/payloads"
    inline_limit_bytes: int = 250_000
    default_size: str = "small"
    step_start_timeout_s: float = 120.0
    timeout_grace_s: float = 15.0
    invoke_attempts: int = 4


class LambdaStepHandler(StepHandler):
    def __init__(self, settings: LambdaStepSettings, lambda_client: Any = None, s3_client: Any = None):
        self._settings = settings
        self._lambda = lambda_client
        self._s3 = s3_client
        self._records: dict[str, InvocationRecord] = {}  # current invocation per step key
        self._by_invocation: dict[str, InvocationRecord] = {}
        self._function_timeouts: dict[str, float | None] = {}
        self._event_cursor: str | None = None

    @property
    def name(self) -> str:
        return "LambdaStepHandler"

    @property
    def records(self) -> Mapping[str, InvocationRecord]:
        return dict(self._by_invocation)

    def _lambda_client(self) -> Any:
        if self._lambda is None:
            self._lambda = boto3.client(
                "lambda", config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60)
            )
        return self._lambda

    def _s3_client(self) -> Any:
        if self._s3 is None:
            self._s3 = boto3.client("s3")
        return self._s3

    @staticmethod
    def _step_key(ctx: StepHandlerContext) -> str:
        keys = list(ctx.execute_step_args.step_keys_to_execute or [])
        if len(keys) != 1:
            raise ValueError(f"the Lambda executor launches one step per invocation, got {keys}")
        return keys[0]

    @staticmethod
    def _attempt(ctx: StepHandlerContext, step_key: str) -> int:
        known_state = ctx.execute_step_args.known_state
        previous = known_state.get_retry_state().get_attempt_count(step_key) if known_state else 0
        return previous + 1

    def _function_timeout(self, function_name: str) -> float | None:
        if function_name not in self._function_timeouts:
            try:
                config = self._lambda_client().get_function_configuration(FunctionName=function_name)
                self._function_timeouts[function_name] = float(config["Timeout"])
            except (ClientError, BotoCoreError, KeyError):
                self._function_timeouts[function_name] = None
        return self._function_timeouts[function_name]

    def _build_invocation(self, ctx: StepHandlerContext, step_key: str, attempt: int) -> StepInvocation:
        blob = compress_args(serialize_value(ctx.execute_step_args))
        now = time.time()
        invocation = StepInvocation(
            invocation_id=uuid.uuid4().hex,
            run_id=ctx.execute_step_args.run_id,
            step_key=step_key,
            attempt=attempt,
            launched_at=now,
            start_deadline=now + self._settings.step_start_timeout_s,
            args_inline=inline_args(blob),
        )
        if not needs_pointer(invocation, self._settings.inline_limit_bytes):
            return invocation
        if not self._settings.payload_bucket:
            raise ValueError(
                f"step {step_key}'s arguments are {invocation.encoded_size()} bytes, over the "
                f"{self._settings.inline_limit_bytes}-byte invoke limit, and no payload_bucket is configured"
            )
        key = pointer_key(
            self._settings.payload_prefix, invocation.run_id, step_key, invocation.invocation_id
        )
        self._s3_client().put_object(Bucket=self._settings.payload_bucket, Key=key, Body=blob)
        pointer = ArgsPointer(self._settings.payload_bucket, key, sha256_hex(blob), len(blob))
        return StepInvocation(**{**invocation.__dict__, "args_inline": None, "args_pointer": pointer})

    def _invoke(self, function_name: str, payload: bytes) -> str:
        """Asynchronous invoke; returns the request id. Throttling is retried with backoff, then raised."""
        for attempt in range(1, self._settings.invoke_attempts + 1):
            try:
                response = self._lambda_client().invoke(
                    FunctionName=function_name, InvocationType="Event", Payload=payload
                )
                return response["ResponseMetadata"].get("RequestId", "unknown")
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code not in _RETRYABLE_INVOKE_ERRORS or attempt == self._settings.invoke_attempts:
                    raise
                time.sleep(min(0.2 * 2**attempt, 5.0))
        raise AssertionError("unreachable")

    def launch_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        ctx = step_handler_context
        step_key = self._step_key(ctx)
        attempt = self._attempt(ctx, step_key)
        step_context = ctx.get_step_context(step_key)
        now = time.time()
        record = InvocationRecord(
            invocation_id="not-invoked-" + uuid.uuid4().hex,
            step_key=step_key,
            attempt=attempt,
            function_name="(unresolved)",
            launched_at=now,
            start_deadline=now + self._settings.step_start_timeout_s,
        )
        self._records[step_key] = record
        try:
            record.function_name = function_for_step(
                step_key, ctx.step_tags[step_key], self._settings.environment, self._settings.default_size
            )
            invocation = self._build_invocation(ctx, step_key, attempt)
            record.invocation_id = invocation.invocation_id
            record.launched_at = invocation.launched_at
            record.start_deadline = invocation.start_deadline
            record.payload_uri = invocation.args_pointer.uri if invocation.args_pointer else None
            self._by_invocation[record.invocation_id] = record
            payload = json_bytes(invocation.to_event())
            invoke_started = time.perf_counter()
            record.request_id = self._invoke(record.function_name, payload)
            invoke_ms = (time.perf_counter() - invoke_started) * 1000
            record.function_timeout_s = self._function_timeout(record.function_name)
        except Exception as err:  # must not escape: becomes this step's failure at the next health check
            record.invoke_error = f"{type(err).__name__}: {err}"
            yield DagsterEvent.engine_event(
                step_context,
                f"Could not invoke a Lambda for step {step_key}: {record.invoke_error}",
                EngineEventData(metadata={"lambda function": MetadataValue.text(record.function_name)}),
            )
            return
        yield DagsterEvent.step_worker_starting(
            step_context,
            message=f'Invoked Lambda {record.function_name} for step "{step_key}" (attempt {attempt}).',
            metadata={
                "lambda function": MetadataValue.text(record.function_name),
                "lambda request id": MetadataValue.text(record.request_id or "unknown"),
                "invocation id": MetadataValue.text(record.invocation_id),
                "payload bytes": MetadataValue.int(len(payload)),
                "arguments": MetadataValue.text(record.payload_uri or "inline"),
                "invoke call (ms)": MetadataValue.float(round(invoke_ms, 1)),
            },
        )

    def _read_markers(self, instance: DagsterInstance, run_id: str) -> None:
        """Advance through the run's engine events since the last call and apply the handler's markers."""
        while True:
            connection = instance.get_records_for_run(
                run_id, cursor=self._event_cursor, of_type={DagsterEventType.ENGINE_EVENT}, limit=500
            )
            for event_record in connection.records:
                entry = event_record.event_log_entry
                event = entry.dagster_event
                if event is None or event.engine_event_data is None:
                    continue
                metadata = {k: v.value for k, v in event.engine_event_data.metadata.items()}
                marker = marker_from_metadata(metadata, entry.step_key, entry.timestamp)
                if marker and marker.invocation_id in self._by_invocation:
                    self._by_invocation[marker.invocation_id].observe(marker)
            if connection.cursor:
                self._event_cursor = connection.cursor
            if not connection.has_more:
                return

    def check_step_health(self, step_handler_context: StepHandlerContext) -> CheckStepHealthResult:
        ctx = step_handler_context
        step_key = self._step_key(ctx)
        record = self._records.get(step_key)
        if record is None:
            return CheckStepHealthResult.unhealthy(
                f"this executor has no record of invoking a Lambda for step {step_key} (it was launched by an "
                "earlier run worker)"
            )
        self._read_markers(ctx.instance, ctx.execute_step_args.run_id)
        reason = unhealthy_reason(record, time.time(), self._settings.timeout_grace_s)
        return CheckStepHealthResult.unhealthy(reason) if reason else CheckStepHealthResult.healthy()

    def terminate_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        """Lambda cannot stop an invocation: the handler notices the run's status and interrupts the step."""
        ctx = step_handler_context
        step_key = self._step_key(ctx)
        record = self._records.get(step_key)
        where = f"{record.function_name} request {record.request_id}" if record else "its Lambda invocation"
        yield DagsterEvent.engine_event(
            ctx.get_step_context(step_key),
            f"Run terminated: step {step_key} in {where} stops at the handler's next run-status check",
            EngineEventData(),
        )


def json_bytes(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()
