"""Pytest plugin: record every AWS API call that pipeline code makes while the suite runs.

moto enforces no IAM, so a call the deployed role does not allow passes locally. This plugin wraps botocore's
one entry point for API calls (`BaseClient._make_api_call`, in this process) and notes, for each call made by
pipeline code, who made it and what it names; `tests/deploy/cdk/test_iam_covers_recorded_calls.py` then
checks every call against the policies the CDK app attaches to the role that runs that code.

- Who: a call whose stack passes through `sensors.*` runs in the daemon (sensors and schedules); through
  `assets.*` or the Lambda worker, in a step; through the rest of the Lambda executor, in the run worker,
  which the daemon's task hosts. Calls made only by tests, the local stack or benchmarks are not recorded.
- What: the IAM action(s) and the resources the call names, each with the resource field that supplied the
  name (for example `BronzeLakeResource.bucket`), found among the `ConfigurableResource`s on the stack, so
  a test's throwaway bucket still maps to the deployed bucket that field is configured with.

Steps that run in other processes (multiprocess runs, local Lambda workers) are not seen here; their code is
the same as the in-process runs of the same assets, which are.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import botocore.client
import botocore.exceptions
from dagster import ConfigurableResource

DAEMON = "daemon"
STEP = "step"


@dataclass(frozen=True)
class ResourceName:
    """One AWS resource a call names: its kind, its local name, and where the pipeline got the name."""

    kind: str  # bucket | object | table | queue | topic | secret | function | namespace
    value: (
        str  # bucket, "bucket/key", table[/index/name], queue URL, topic ARN, secret id, function, namespace
    )
    source: str | None  # "ClassName.field" of the resource whose field holds the name, if any


@dataclass(frozen=True)
class RecordedCall:
    role: str  # DAEMON or STEP
    operation: str  # service:Operation as botocore names it, e.g. "dynamodb:BatchGetItem"
    action: str  # the IAM action it needs
    resource: ResourceName
    caller: str  # the first pipeline module on the stack, for the failure message
    error: str | None = None  # the AWS error code the call ended with, if any


_calls: set[RecordedCall] = set()
_lock = threading.Lock()
_original = botocore.client.BaseClient._make_api_call


def recorded_calls() -> set[RecordedCall]:
    with _lock:
        return set(_calls)


def _role(frame: FrameType | None) -> tuple[str, str] | None:
    """(role, caller module) of the innermost pipeline frame, or None when no pipeline code is calling."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("sensors."):
            return DAEMON, module
        if module.startswith("assets.") or module.startswith("ecom_pipeline.lambda_executor.worker"):
            return STEP, module
        if module.startswith("ecom_pipeline.lambda_executor."):
            return DAEMON, module
        frame = frame.f_back
    return None


def _resources_on_stack(frame: FrameType | None) -> Iterator[ConfigurableResource]:
    """Resources in the stack's local variables, and held one attribute deep by other objects there (a
    helper object created by an asset keeps the asset's resources as attributes)."""
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, ConfigurableResource):
                yield value
            elif hasattr(value, "__dict__") and not isinstance(value, type):
                for attribute in list(vars(value).values()):
                    if isinstance(attribute, ConfigurableResource):
                        yield attribute
        frame = frame.f_back


def _source(value: str, resources: list[ConfigurableResource]) -> str | None:
    """`Class.field` of a resource whose string field equals `value` (nested resources too)."""
    seen: set[int] = set()
    pending = list(resources)
    while pending:
        resource = pending.pop(0)
        if id(resource) in seen:
            continue
        seen.add(id(resource))
        for field in type(resource).model_fields:
            field_value = getattr(resource, field, None)
            if isinstance(field_value, ConfigurableResource):
                pending.append(field_value)
            elif isinstance(field_value, str) and field_value == value:
                return f"{type(resource).__name__}.{field}"
    return None


def _s3(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    bucket = params.get("Bucket", "")
    key = params.get("Key", "")
    if operation in {"ListObjectsV2", "ListObjects"}:
        return [("s3:ListBucket", "bucket", bucket)]
    if operation in {"GetObject", "HeadObject"}:
        return [("s3:GetObject", "object", f"{bucket}/{key}")]
    if operation in {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}:
        return [("s3:PutObject", "object", f"{bucket}/{key}")]
    if operation == "CopyObject":
        source = params["CopySource"]
        source = source if isinstance(source, str) else f"{source['Bucket']}/{source['Key']}"
        return [("s3:GetObject", "object", source.lstrip("/")), ("s3:PutObject", "object", f"{bucket}/{key}")]
    if operation == "DeleteObject":
        return [("s3:DeleteObject", "object", f"{bucket}/{key}")]
    if operation == "DeleteObjects":
        keys = [entry["Key"] for entry in params.get("Delete", {}).get("Objects", [])]
        return [("s3:DeleteObject", "object", f"{bucket}/{key}") for key in keys]
    if operation == "AbortMultipartUpload":
        return [("s3:AbortMultipartUpload", "object", f"{bucket}/{key}")]
    return [(f"s3:{operation}", "bucket", bucket)]


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    action = f"dynamodb:{operation}"
    if "RequestItems" in params:
        return [(action, "table", table) for table in params["RequestItems"]]
    table = params.get("TableName", "")
    if params.get("IndexName"):
        return [(action, "table", f"{table}/index/{params['IndexName']}")]
    return [(action, "table", table)]


def _names(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(IAM action, resource kind, local name) for each resource the call acts on."""
    if service == "s3":
        return _s3(operation, params)
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "sqs":
        action = "sqs:SendMessage" if operation == "SendMessageBatch" else f"sqs:{operation}"
        return [(action, "queue", params.get("QueueUrl", ""))]
    if service == "sns":
        return [(f"sns:{operation}", "topic", params.get("TopicArn", ""))]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", "secret", params.get("SecretId", ""))]
    if service == "lambda":
        action = "lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}"
        return [(action, "function", params.get("FunctionName", ""))]
    if service == "cloudwatch":
        return [(f"cloudwatch:{operation}", "namespace", params.get("Namespace", ""))]
    return [(f"{service}:{operation}", service, "")]


# Work handed to another thread (thread pools, producer threads) runs without the asset or sensor on its
# stack: the thread inherits the role and the resources of the code that started it.
_inherited = threading.local()


def _context(frame: FrameType | None) -> tuple[tuple[str, str] | None, list[ConfigurableResource]]:
    who = _role(frame)
    inherited_who, inherited_resources = getattr(_inherited, "context", (None, []))
    if who is None:
        return inherited_who, inherited_resources
    return who, [*_resources_on_stack(frame), *inherited_resources]


def _inheriting(fn: Any, context: tuple[tuple[str, str] | None, list[ConfigurableResource]]) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        previous = getattr(_inherited, "context", (None, []))
        _inherited.context = context
        try:
            return fn(*args, **kwargs)
        finally:
            _inherited.context = previous

    return run


_original_submit = concurrent.futures.ThreadPoolExecutor.submit
_original_start = threading.Thread.start


def _submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    context = _context(sys._getframe(1))
    if context[0] is not None:
        fn = _inheriting(fn, context)
    return _original_submit(self, fn, *args, **kwargs)


def _start(self: threading.Thread) -> None:
    context = _context(sys._getframe(1))
    if context[0] is not None:
        self.run = _inheriting(self.run, context)  # type: ignore[method-assign]
    _original_start(self)


def _recording_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    who, resources = _context(sys._getframe(1))
    if who is not None:
        service = self.meta.service_model.endpoint_prefix
        if service == "monitoring":
            service = "cloudwatch"
        role, caller = who
        sources: dict[str, str | None] = {}
        found = []
        for action, kind, value in _names(service, operation_name, api_params):
            lookup = value.split("/", 1)[0] if kind in {"object", "table"} else value
            if lookup not in sources:
                sources[lookup] = _source(lookup, resources)
            found.append(
                RecordedCall(
                    role=role,
                    operation=f"{service}:{operation_name}",
                    action=action,
                    resource=ResourceName(kind, value, sources[lookup]),
                    caller=caller,
                )
            )
        try:
            return _original(self, operation_name, api_params)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            found = [dataclasses.replace(call, error=code) for call in found]
            raise
        finally:
            with _lock:
                _calls.update(found)
    return _original(self, operation_name, api_params)


def pytest_configure(config: Any) -> None:
    botocore.client.BaseClient._make_api_call = _recording_make_api_call
    concurrent.futures.ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign]
    threading.Thread.start = _start  # type: ignore[method-assign]


def pytest_unconfigure(config: Any) -> None:
    botocore.client.BaseClient._make_api_call = _original
    concurrent.futures.ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]
    threading.Thread.start = _original_start  # type: ignore[method-assign]


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """The IAM check reads what every other test recorded, so it runs last."""
    last = [item for item in items if "test_iam_covers_recorded_calls" in item.nodeid]
    items[:] = [item for item in items if item not in last] + last


LEAST_PRIVILEGE_REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Least privilege, measured: which granted actions the recorded calls used (filled by the IAM test)."""
    if LEAST_PRIVILEGE_REPORT:
        terminalreporter.section("IAM: granted actions used by recorded AWS calls")
        for line in LEAST_PRIVILEGE_REPORT:
            terminalreporter.write_line(line)
