"""Make moto 5.2.5's Lambda Invoke run the function's Python handler locally instead of in Docker.

The patch replaces exactly one method, `moto.awslambda.models.LambdaFunction.invoke` (the point where
moto turns an Invoke request into a payload), so everything else - CreateFunction, configuration,
versions, the HTTP responses (200/202/204 by invocation type) - stays moto's. It also keeps the
`DeadLetterConfig` that moto 5.2.5 accepts but drops. Pinned in pyproject.toml (moto[server]==5.2.5).

Supported:
- Zip functions with a python* runtime: the code zip is extracted once per code digest under
  `<state>/lambda_code/` and `Handler` ("module.func") runs with that directory first on sys.path.
- Image functions (PackageType=Image): `ImageConfig.Command[0]` ("module.func") runs with the project's
  own Python, with `deploy/lambda` (the image's LAMBDA_TASK_ROOT) and the repo root on sys.path.
- RequestResponse (result or AWS's error shape with X-Amz-Function-Error: Unhandled, LogType=Tail),
  Event (202 at once; handler runs in a background thread), DryRun (204, nothing runs).
- Event failures are retried MaximumRetryAttempts times (put_function_event_invoke_config, default 2,
  0 honoured) with a short local delay instead of AWS's minutes, then sent to the OnFailure destination
  (SQS queue or SNS topic, AWS's destination record) and/or the DeadLetterConfig target (SQS/SNS, the
  event as body with RequestID/ErrorCode/ErrorMessage attributes). OnSuccess destinations get the
  success record. Not supported: MaximumEventAgeInSeconds, memory limits, Lambda/EventBridge targets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from deploy.local.lambda_worker_pool import FunctionRuntimeSpec, InvocationOutcome, LambdaWorkerPool
from deploy.local.stack_config import LOCAL_AWS_KEY, REPO_ROOT

PINNED_MOTO_VERSION = "5.2.5"
IMAGE_TASK_ROOT = REPO_ROOT / "deploy" / "lambda"
LOG_TAIL_BYTES = 4096


@dataclass(frozen=True)
class LocalLambdaSettings:
    state_dir: Path
    moto_url: str
    async_retry_delay_s: float = 1.0


class UnsupportedFunction(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


_settings: LocalLambdaSettings | None = None
_pool: LambdaWorkerPool | None = None


def install(settings: LocalLambdaSettings) -> LambdaWorkerPool:
    """Patch moto in this process; returns the worker pool (shut it down when the server stops)."""
    import moto
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"deploy/local/lambda_invoke_patch.py targets moto {PINNED_MOTO_VERSION}, found {moto.__version__}"
        )
    global _settings, _pool
    _settings = settings
    _pool = LambdaWorkerPool(
        settings.state_dir,
        idle_ttl_s=float(os.environ.get("ECOM_LAMBDA_IDLE_TTL_SECONDS", "300")),
        max_concurrency=int(os.environ.get("ECOM_LAMBDA_MAX_CONCURRENCY", "8")),
        on_logs=_store_cloudwatch_logs,
    )
    LambdaFunction.invoke = _invoke
    _keep_dead_letter_and_image_config(LambdaFunction)
    _retire_workers_on_delete(LambdaBackend, _pool)
    return _pool


def _retire_workers_on_delete(cls: Any, pool: LambdaWorkerPool) -> None:
    original_delete = cls.delete_function

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        original_delete(self, function_name, qualifier)
        pool.retire_function(
            function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        )

    cls.delete_function = delete_function


def _keep_dead_letter_and_image_config(cls: Any) -> None:
    """moto 5.2.5 drops DeadLetterConfig and ignores ImageConfig in UpdateFunctionConfiguration."""
    from moto.awslambda.models import ImageConfig

    original_init, original_update, original_get = (
        cls.__init__,
        cls.update_configuration,
        cls.get_configuration,
    )

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:  # noqa: N807
        original_init(self, account_id, spec, region, version)
        self.dead_letter_config = spec.get("DeadLetterConfig") or {}

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or {}
        if "ImageConfig" in config_updates:
            self.image_config = ImageConfig(config_updates["ImageConfig"] or {})
        return original_update(self, config_updates)

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        if getattr(self, "dead_letter_config", {}).get("TargetArn"):
            config["DeadLetterConfig"] = self.dead_letter_config
        return config

    cls.__init__, cls.update_configuration, cls.get_configuration = (
        __init__,
        update_configuration,
        get_configuration,
    )


def _invoke(self: Any, body: str | bytes, request_headers: Any, response_headers: dict[str, str]) -> bytes:
    """Replacement of LambdaFunction.invoke: returns the payload; moto's responses set the status."""
    assert _pool is not None and _settings is not None, "lambda_invoke_patch.install() was not called"
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    payload = body.encode() if isinstance(body, str) else (body or b"")
    request_id = str(uuid.uuid4())
    response_headers["x-amz-executed-version"] = str(self.version)
    try:
        spec = runtime_spec(self, _settings)
    except UnsupportedFunction as exc:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorMessage": str(exc), "errorType": exc.error_type}).encode()
    if invocation_type == "Event":
        thread = threading.Thread(
            target=_run_event_invocation,
            args=(self, spec, payload, request_id),
            name=f"lambda-event-{request_id}",
            daemon=True,
        )
        thread.start()
        return b""
    outcome = _pool.invoke(spec, payload, request_id, self.function_arn)
    if not outcome.ok:
        response_headers["x-amz-function-error"] = "Unhandled"
    tail = "\n".join(outcome.log_lines).encode()[-LOG_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return outcome.payload


def runtime_spec(fn: Any, settings: LocalLambdaSettings) -> FunctionRuntimeSpec:
    """Translate a moto LambdaFunction into what a local worker needs."""
    if fn.package_type == "Image":
        command = list(fn.image_config.cmd or [])
        if not command or "." not in command[0]:
            raise UnsupportedFunction(
                "Runtime.InvalidEntrypoint", "ImageConfig.Command[0] must name the handler as module.function"
            )
        handler, runtime = command[0], f"python{sys.version_info.major}.{sys.version_info.minor}"
        code_paths = (str(IMAGE_TASK_ROOT), str(REPO_ROOT))
        task_root = cwd = str(IMAGE_TASK_ROOT)
        code_id = fn.code.get("ImageUri", "")
    else:
        runtime = fn.run_time or ""
        if not runtime.startswith("python"):
            raise UnsupportedFunction(
                "Runtime.InvalidRuntime", f"local Lambda runs Python handlers only, not {runtime!r}"
            )
        code_id = getattr(fn, "code_digest", "") or hashlib.sha256(fn.code_bytes).hexdigest()
        task_root = cwd = str(_extract_code(fn, code_id, settings.state_dir / "lambda_code"))
        handler, code_paths = fn.handler, (task_root,)
    region = fn.region
    environment = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(code_paths),
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
        "_HANDLER": handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": LOCAL_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_AWS_KEY,
        "AWS_ENDPOINT_URL": settings.moto_url,
        **{str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
    }
    timeout_s, memory_mb = float(fn.timeout), int(fn.memory_size)
    fingerprint = hashlib.sha256(
        json.dumps(
            [handler, code_id, environment, timeout_s, memory_mb, str(fn.version)], sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    return FunctionRuntimeSpec(
        function_name=fn.function_name,
        version=str(fn.version),
        function_arn=fn.function_arn,
        handler=handler,
        code_paths=code_paths,
        cwd=cwd,
        environment=environment,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        log_group=fn.logs_group_name,
        log_file=settings.state_dir / "logs" / "lambda" / f"{fn.function_name}.log",
        fingerprint=fingerprint,
    )


def _extract_code(fn: Any, code_id: str, cache_dir: Path) -> Path:
    target = cache_dir / fn.function_name / code_id[:16]
    if target.is_dir():
        return target
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    with zipfile.ZipFile(BytesIO(fn.code_bytes)) as archive:
        archive.extractall(staging)
    try:
        staging.rename(target)
    except OSError:  # another invoke extracted the same code first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _run_event_invocation(fn: Any, spec: FunctionRuntimeSpec, payload: bytes, request_id: str) -> None:
    assert _pool is not None and _settings is not None
    # moto appends on every PutFunctionEventInvokeConfig; AWS replaces: the last one is in force.
    config = fn.event_invoke_config[-1].config if fn.event_invoke_config else {}
    max_retries = int(config.get("MaximumRetryAttempts", 2))
    attempts = 0
    while True:
        attempts += 1
        outcome = _pool.invoke(spec, payload, request_id, spec.function_arn)
        if outcome.ok or attempts > max_retries:
            break
        time.sleep(_settings.async_retry_delay_s * attempts)
    destinations = config.get("DestinationConfig") or {}
    try:
        if outcome.ok:
            target = (destinations.get("OnSuccess") or {}).get("Destination")
            if target:
                _deliver(target, json.dumps(_destination_record(spec, payload, outcome, attempts)), {})
            return
        print(
            f"lambda {spec.function_name} event {request_id} failed after {attempts} attempt(s): "
            f"{outcome.payload[:500].decode(errors='replace')}",
            file=sys.stderr,
            flush=True,
        )
        target = (destinations.get("OnFailure") or {}).get("Destination")
        if target:
            _deliver(target, json.dumps(_destination_record(spec, payload, outcome, attempts)), {})
        dead_letter = (getattr(fn, "dead_letter_config", {}) or {}).get("TargetArn")
        if dead_letter:
            error = outcome.error or {}
            attributes = {
                "RequestID": request_id,
                "ErrorCode": "200",
                "ErrorMessage": str(error.get("errorMessage", ""))[:1000],
            }
            _deliver(dead_letter, payload.decode() or "{}", attributes)
    except Exception as exc:  # noqa: BLE001 - a background thread: report, never crash the server
        print(f"lambda {spec.function_name} event {request_id}: delivery failed: {exc!r}", file=sys.stderr)


def _destination_record(
    spec: FunctionRuntimeSpec, payload: bytes, outcome: InvocationOutcome, attempts: int
) -> dict[str, Any]:
    """The record AWS sends to async-invocation destinations."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": spec.version}
    if not outcome.ok:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": outcome.request_id,
            "functionArn": spec.function_arn,
            "condition": "Success" if outcome.ok else "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _json_or_text(payload),
        "responseContext": response_context,
        "responsePayload": _json_or_text(outcome.payload),
    }


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode(errors="replace")


def _deliver(target_arn: str, body: str, attributes: dict[str, str]) -> None:
    """Send to an SQS queue or SNS topic through the moto server's own API."""
    import boto3

    parts = target_arn.split(":")
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_AWS_KEY, aws_secret_access_key=LOCAL_AWS_KEY, region_name=region
    )
    assert _settings is not None
    message_attributes = {
        key: {"DataType": "Number" if value.isdigit() else "String", "StringValue": value}
        for key, value in attributes.items()
    }
    if service == "sqs":
        sqs = session.client("sqs", endpoint_url=_settings.moto_url)
        queue_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=message_attributes)
    elif service == "sns":
        sns = session.client("sns", endpoint_url=_settings.moto_url)
        sns.publish(TopicArn=target_arn, Message=body, MessageAttributes=message_attributes)
    else:
        raise UnsupportedFunction("Destination", f"local Lambda delivers to SQS and SNS only, not {service}")


def _store_cloudwatch_logs(spec: FunctionRuntimeSpec, outcome: InvocationOutcome) -> None:
    """Copy the invocation's log lines into moto's CloudWatch Logs (group /aws/lambda/<name>)."""
    from moto.logs.exceptions import ResourceAlreadyExistsException
    from moto.logs.models import logs_backends

    if not outcome.log_lines:
        return
    _, _, _, region, account = spec.function_arn.split(":")[:5]
    backend = logs_backends[account][region]
    backend.ensure_log_group(spec.log_group)
    try:
        backend.create_log_stream(spec.log_group, outcome.log_stream)
    except ResourceAlreadyExistsException:
        pass
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms, "message": line} for line in outcome.log_lines if line]
    if events:
        backend.put_log_events(spec.log_group, outcome.log_stream, events)
