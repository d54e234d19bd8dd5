"""The execution environment of one local Lambda function: a reusable worker process.

The moto server (see `lambda_worker_pool.py`) starts this module once per concurrent execution
environment. It imports the handler once (the "init" phase, like a Lambda cold start) and then serves
invocations one at a time over a pair of pipes, so a warm invoke costs a pipe round trip instead of a
Python start and the handler's imports.

Protocol (both directions): 8-byte big-endian length + UTF-8 JSON.
- worker -> parent after init: {"ready": true} or {"init_error": {errorMessage, errorType, stackTrace}}
- parent -> worker: {"request_id", "payload", "deadline_ms", "invoked_function_arn"}
- worker -> parent: {"ok": true, "payload": "<json>"} | {"ok": false, "error": {...}}, "max_rss_mb"
After each invocation the worker prints a sentinel line to stdout, so the parent knows the invocation's
log output is complete. The handler's stdout/stderr are the function's log (the parent captures them).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

FRAME_HEADER = struct.Struct(">Q")
END_SENTINEL = "\x00ecom-lambda-end "


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    stream.write(FRAME_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message, or None on a clean EOF (the parent went away)."""
    header = _read_exact(stream, FRAME_HEADER.size)
    if header is None:
        return None
    body = _read_exact(stream, FRAME_HEADER.unpack(header)[0])
    if body is None:
        return None
    return json.loads(body)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    parts, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class LambdaContext:
    """The attributes and method of AWS's Python runtime context object that handlers use."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(
    exc: BaseException, error_type: str | None = None, message: str | None = None
) -> dict[str, Any]:
    """AWS's error shape; stackTrace entries are formatted frames like the Python runtime's."""
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(
            [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != __file__]
        ),
    }


def load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    """Import `module.function` the way the Python runtime does, with its error types and messages."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise _InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if function is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return function


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def serve(handler_name: str, requests: BinaryIO, responses: BinaryIO) -> int:
    try:
        handler = load_handler(handler_name)
    except _InitError as exc:
        print(f"[ERROR] {exc.error_type}: {exc}", file=sys.stderr, flush=True)
        write_frame(responses, {"init_error": error_payload(exc, exc.error_type)})
        return 1
    except Exception as exc:  # noqa: BLE001 - module-level code of the user's handler raised
        traceback.print_exc()
        write_frame(responses, {"init_error": error_payload(exc)})
        return 1
    write_frame(responses, {"ready": True})
    while (request := read_frame(requests)) is not None:
        context = LambdaContext(
            request["request_id"], request["invoked_function_arn"], request["deadline_ms"]
        )
        os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-{request['request_id'][:8]}"
        response: dict[str, Any]
        try:
            result = handler(json.loads(request["payload"] or "{}"), context)
            try:
                response = {"ok": True, "payload": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                message = f"Unable to marshal response: {exc}"
                response = {"ok": False, "error": error_payload(exc, "Runtime.MarshalError", message)}
        except Exception as exc:  # noqa: BLE001 - report the handler's error the way AWS does
            error = error_payload(exc)
            error["requestId"] = request["request_id"]
            print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
            traceback.print_exc()
            response = {"ok": False, "error": error}
        sys.stdout.flush()
        sys.stderr.flush()
        response["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        write_frame(responses, response)
        print(f"{END_SENTINEL}{request['request_id']}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="local Lambda execution environment (one worker)")
    parser.add_argument("--handler", required=True, help="module.function")
    parser.add_argument("--code-path", action="append", default=[], help="directories put first on sys.path")
    parser.add_argument("--request-fd", type=int, required=True)
    parser.add_argument("--response-fd", type=int, required=True)
    parser.add_argument("--state-dir", help="identifies the stack that owns this worker (for `down`)")
    args = parser.parse_args(argv)
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # started as a script: keep deploy/local's modules off the handler's path
    for path in reversed(args.code_path):
        sys.path.insert(0, path)
    requests = os.fdopen(args.request_fd, "rb", buffering=0)
    responses = os.fdopen(args.response_fd, "wb")
    return serve(args.handler, requests, responses)


if __name__ == "__main__":
    sys.exit(main())
