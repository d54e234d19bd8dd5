"""Runs on the Lambda executor through the local Lambda API: success, retry, crash, timeout, duplicate delivery,
S3 pointer and termination. Every step runs in a function worker process and reports to the stack's
PostgreSQL instance, which this test process reads back.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter

import boto3
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import serialize_value

from ecom_pipeline.lambda_executor import markers
from ecom_pipeline.lambda_executor.payload import StepInvocation, compress_args, inline_args
from tests.ecom_pipeline.lambda_executor.conftest import TIMEOUT_FUNCTION_SECONDS, run_on_lambda
from tests.ecom_pipeline.lambda_executor.executor_test_jobs import (
    MODULE,
    OUTLIVED_MESSAGE,
    scenario_function_name,
)


def _markers(instance: DagsterInstance, run_id: str) -> list[tuple[str, str | None, dict]]:
    found = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        metadata = {k: v.value for k, v in entry.dagster_event.engine_event_data.metadata.items()}
        if markers.MARKER_KEY in metadata:
            found.append((metadata[markers.MARKER_KEY], entry.step_key, metadata))
    return found


def _events(instance: DagsterInstance, run_id: str, event_type: DagsterEventType) -> list:
    return [entry.dagster_event for entry in instance.all_logs(run_id, of_type=event_type)]


def _error_messages(instance: DagsterInstance, run_id: str, event_type: DagsterEventType) -> list[str]:
    return [event.event_specific_data.error.to_string() for event in _events(instance, run_id, event_type)]


def test_each_step_runs_in_its_own_lambda_invocation(instance, step_functions):
    result = run_on_lambda(instance, "two_step_job")
    assert result.success
    started = [
        (step, meta) for kind, step, meta in _markers(instance, result.run_id) if kind == markers.STARTED
    ]
    assert sorted(step for step, _ in started) == ["first", "second"]
    request_ids = {meta[markers.REQUEST_ID_KEY] for _, meta in started}
    assert len(request_ids) == 2
    assert {meta[markers.FUNCTION_KEY] for _, meta in started} == {scenario_function_name("basic")}
    worker_pids = {
        e.event_specific_data.metadata["pid"].value
        for e in _events(instance, result.run_id, DagsterEventType.STEP_WORKER_STARTED)
    }
    assert str(os.getpid()) not in worker_pids
    starting = _events(instance, result.run_id, DagsterEventType.STEP_WORKER_STARTING)
    assert [e.event_specific_data.metadata["arguments"].value for e in starting] == ["inline", "inline"]


def test_failing_step_is_retried_by_policy_in_a_new_invocation(instance, step_functions):
    result = run_on_lambda(instance, "flaky_job")
    assert result.success
    assert any(
        "transient failure" in m
        for m in _error_messages(instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    )
    started = [meta for kind, _, meta in _markers(instance, result.run_id) if kind == markers.STARTED]
    assert sorted(meta["attempt"] for meta in started) == [1, 2]
    assert len({meta[markers.REQUEST_ID_KEY] for meta in started}) == 2


def test_handler_crash_before_the_step_fails_it_after_the_retry_policy(instance, step_functions, stack_env):
    started = time.monotonic()
    result = run_on_lambda(instance, "crash_job", step_start_timeout_seconds=3.0)
    assert not result.success
    assert time.monotonic() - started < 60
    assert not _events(instance, result.run_id, DagsterEventType.STEP_START)
    retry_errors = _error_messages(instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
    failure_errors = _error_messages(instance, result.run_id, DagsterEventType.STEP_FAILURE)
    assert len(retry_errors) == 1 and len(failure_errors) == 1
    assert all("did not start within 3s" in m for m in retry_errors + failure_errors)
    assert scenario_function_name("crash") in failure_errors[0]
    # AWS's async retries are off (MaximumRetryAttempts=0): each attempt's failure reaches the DLQ once.
    records = _dlq_records_for_run(stack_env["LAMBDA_DLQ_URL"], result.run_id, expected=2)
    assert [r["requestContext"]["approximateInvokeCount"] for r in records] == [1, 1]
    assert all(r["responsePayload"]["errorType"] == "Runtime.HandlerNotFound" for r in records)


def _dlq_records_for_run(queue_url: str, run_id: str, expected: int, wait_s: float = 20.0) -> list[dict]:
    sqs = boto3.client("sqs")
    found: list[dict] = []
    deadline = time.monotonic() + wait_s
    while len(found) < expected and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            record = json.loads(message["Body"])
            if (record.get("requestPayload") or {}).get("run_id") == run_id:
                found.append(record)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:  # another run's record: leave it for its reader
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
    return found


def test_invoke_error_fails_the_step_not_the_executor(instance, step_functions):
    result = run_on_lambda(instance, "missing_function_job")
    assert not result.success
    failures = _error_messages(instance, result.run_id, DagsterEventType.STEP_FAILURE)
    assert len(failures) == 1
    assert "invoking ecom-pipeline-step-does-not-exist failed: ResourceNotFoundException" in failures[0]
    assert _events(instance, result.run_id, DagsterEventType.RUN_FAILURE)


def test_step_outliving_the_function_timeout_fails_with_the_reason(instance, step_functions):
    # Outcomes only. A cold start on a loaded machine can outlast the function's timeout before the step
    # begins, so a worker is warmed first (up to three tries); the run then has no start deadline a slow
    # machine could reach, and the op sleeps 600 s: a run that ends at all was ended by the timeout.
    warm_ups = 0
    while not run_on_lambda(instance, "warm_timeout_function_job").success:
        warm_ups += 1
        assert warm_ups < 3, "the timeout function never started a step"
    result = run_on_lambda(instance, "timeout_job", step_start_timeout_seconds=900.0)
    assert not result.success
    failures = _error_messages(instance, result.run_id, DagsterEventType.STEP_FAILURE)
    assert len(failures) == 1
    assert f"outlived the function's {TIMEOUT_FUNCTION_SECONDS}s timeout" in failures[0]
    # The handler had accepted the invocation and the op never ran to its end: the timeout stopped it.
    assert [kind for kind, _, _ in _markers(instance, result.run_id)] == [markers.STARTED]
    logs = instance.all_logs(result.run_id)
    assert not any(OUTLIVED_MESSAGE in (entry.user_message or "") for entry in logs)


def test_duplicate_delivery_runs_each_step_once(instance, step_functions):
    result = run_on_lambda(instance, "duplicated_delivery_job")
    assert result.success
    # The second delivery of each step is refused: by the claim while the first runs, or by Dagster's step
    # verification (or the finished run) after it. It may still be in flight when the run ends.
    deadline = time.monotonic() + 30
    refused: Counter = Counter()
    while time.monotonic() < deadline:
        found = _markers(instance, result.run_id)
        refused = Counter(
            step
            for kind, step, meta in found
            if kind == markers.DUPLICATE
            or (kind == markers.FINISHED and meta.get(markers.OUTCOME_KEY) == markers.NO_OUTCOME)
        )
        if refused == Counter({"first": 1, "second": 1}):
            break
        time.sleep(0.5)
    assert refused == Counter({"first": 1, "second": 1})
    assert Counter(
        e.step_key for e in _events(instance, result.run_id, DagsterEventType.STEP_START)
    ) == Counter({"first": 1, "second": 1})
    assert len(_events(instance, result.run_id, DagsterEventType.STEP_SUCCESS)) == 2


def test_arguments_over_the_invoke_limit_travel_as_an_s3_pointer(instance, step_functions, stack_env):
    result = run_on_lambda(instance, "two_step_job", inline_payload_limit_bytes=400)
    assert result.success
    bucket = stack_env["DAGSTER_LOGS_BUCKET"]
    starting = _events(instance, result.run_id, DagsterEventType.STEP_WORKER_STARTING)
    uris = [e.event_specific_data.metadata["arguments"].value for e in starting]
    assert len(uris) == 2
    prefix = f"s3://{bucket}/lambda-executor/payloads/{result.run_id}/"
    assert all(uri.startswith(prefix) for uri in uris)
    s3 = boto3.client("s3")
    for uri in uris:
        assert s3.head_object(Bucket=bucket, Key=uri.removeprefix(f"s3://{bucket}/"))["ContentLength"] > 400
    handler_saw = {
        meta["arguments"] for kind, _, meta in _markers(instance, result.run_id) if kind == markers.STARTED
    }
    assert handler_saw == set(uris)


def test_terminating_the_run_stops_the_step_inside_the_function(instance, step_functions):
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=run_on_lambda(instance, "slow_job")))
    started = time.monotonic()
    worker.start()
    run_id = None
    while time.monotonic() - started < 60 and run_id is None:
        runs = [
            r
            for r in instance.get_runs(limit=5)
            if r.job_name == "slow_job" and r.status == DagsterRunStatus.STARTED
        ]
        for run in runs:
            if any(kind == markers.STARTED for kind, _, _ in _markers(instance, run.run_id)):
                run_id = run.run_id
        time.sleep(0.3)
    assert run_id is not None, "the slow step never started in its function"
    instance.report_run_canceling(instance.get_run_by_id(run_id))
    worker.join(timeout=45)
    assert not worker.is_alive()
    assert time.monotonic() - started < 50  # the op would run 60 s
    finished = [meta for kind, _, meta in _markers(instance, run_id) if kind == markers.FINISHED]
    assert len(finished) == 1 and finished[0][markers.OUTCOME_KEY] in ("terminated", "STEP_FAILURE")
    assert not _events(instance, run_id, DagsterEventType.STEP_SUCCESS)


def test_delivery_after_the_start_deadline_is_refused(instance, step_functions):
    """A late delivery (queued past the executor's start deadline) must not run a step already given up on."""
    recon = ReconstructableJob.for_module(MODULE, "two_step_job")
    run = instance.create_run_for_job(
        job_def=recon.get_definition(),
        execution_plan=create_execution_plan(recon),
        job_code_origin=recon.get_python_origin(),
    )
    args = ExecuteStepArgs(
        job_origin=recon.get_python_origin(),
        run_id=run.run_id,
        step_keys_to_execute=["first"],
        instance_ref=instance.get_ref(),
        known_state=KnownExecutionState(),
        should_verify_step=True,
    )
    now = time.time()
    invocation = StepInvocation(
        invocation_id=uuid.uuid4().hex,
        run_id=run.run_id,
        step_key="first",
        attempt=1,
        launched_at=now - 200,
        start_deadline=now - 80,
        args_inline=inline_args(compress_args(serialize_value(args))),
    )
    response = boto3.client("lambda").invoke(
        FunctionName=scenario_function_name("basic"), Payload=json.dumps(invocation.to_event()).encode()
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["status"] == "expired"
    found = _markers(instance, run.run_id)
    assert [(kind, step) for kind, step, _ in found] == [(markers.EXPIRED, "first")]
    assert "after the start deadline" in found[0][2][markers.REASON_KEY]
    assert not _events(instance, run.run_id, DagsterEventType.STEP_START)
