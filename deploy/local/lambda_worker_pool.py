"""Warm, reusable execution environments for the local Lambda invoke (runs inside the moto server).

One worker process (`lambda_subprocess_runtime.py`) serves one invocation at a time; idle workers of a
function are reused, a busy function gets another worker, and workers idle for `idle_ttl` seconds are
stopped - the same life cycle as Lambda's execution environments, so a warm invoke skips Python start-up
and the handler's imports. Timeouts kill the worker's process group and answer AWS's timeout error.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deploy.local.lambda_subprocess_runtime import END_SENTINEL, FRAME_HEADER

RUNTIME_SCRIPT = Path(__file__).with_name("lambda_subprocess_runtime.py")
MIN_INIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class FunctionRuntimeSpec:
    """What a worker needs to run one function version; `fingerprint` changes with code or config."""

    function_name: str
    version: str
    function_arn: str
    handler: str
    code_paths: tuple[str, ...]
    cwd: str
    environment: dict[str, str] = field(hash=False)
    timeout_s: float
    memory_mb: int
    log_group: str
    log_file: Path
    fingerprint: str


@dataclass
class InvocationOutcome:
    request_id: str
    ok: bool
    payload: bytes
    log_lines: list[str]
    duration_ms: float
    log_stream: str

    @property
    def error(self) -> dict[str, object] | None:
        return None if self.ok else json.loads(self.payload)


def _error_json(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class LambdaWorker:
    """One execution environment: a child process, its request/response pipes and its log reader."""

    def __init__(self, spec: FunctionRuntimeSpec, state_dir: Path, log_lock: threading.Lock) -> None:
        self.spec = spec
        self.state_dir = state_dir
        self.log_lock = log_lock
        self.last_used = time.monotonic()
        now = datetime.now(UTC)
        self.log_stream = f"{now:%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        self._lines: list[str] | None = None
        self._done: dict[str, threading.Event] = {}
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        env = {**spec.environment, "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream}
        argv = [sys.executable, str(RUNTIME_SCRIPT), "--handler", spec.handler]
        for path in spec.code_paths:
            argv += ["--code-path", path]
        argv += ["--request-fd", str(request_read), "--response-fd", str(response_write)]
        argv += ["--state-dir", str(state_dir)]
        try:
            self.process = subprocess.Popen(
                argv,
                pass_fds=(request_read, response_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=spec.cwd,
                start_new_session=True,
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self._pid_file = state_dir / "run" / "lambda-workers" / f"{self.process.pid}.pid"
        self._pid_file.parent.mkdir(parents=True, exist_ok=True)
        self._pid_file.write_text(f"{self.process.pid}\n")
        self._reader = threading.Thread(
            target=self._read_logs, name=f"lambda-log-{spec.function_name}", daemon=True
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _read_logs(self) -> None:
        assert self.process.stdout is not None
        with open(self.spec.log_file, "a", encoding="utf-8") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                if line.startswith(END_SENTINEL):
                    event = self._done.get(line[len(END_SENTINEL) :])
                    if event is not None:
                        event.set()
                    continue
                with self.log_lock:
                    log.write(line + "\n")
                    log.flush()
                if self._lines is not None:
                    self._lines.append(line)

    def _log(self, line: str) -> None:
        with self.log_lock, open(self.spec.log_file, "a", encoding="utf-8") as log:
            log.write(line + "\n")
        if self._lines is not None:
            self._lines.append(line)

    def _read_frame(self, deadline: float) -> dict[str, object] | None:
        """Next response frame; None on EOF (worker died). Raises TimeoutError past `deadline`."""
        buffer = b""
        needed = FRAME_HEADER.size
        header_done = False
        while True:
            while len(buffer) < needed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([self._response_read], [], [], remaining)
                if not ready:
                    raise TimeoutError
                chunk = os.read(self._response_read, max(65536, needed - len(buffer)))
                if not chunk:
                    return None
                buffer += chunk
            if header_done:
                return json.loads(buffer[:needed])
            needed = FRAME_HEADER.unpack(buffer[: FRAME_HEADER.size])[0]
            buffer = buffer[FRAME_HEADER.size :]
            header_done = True

    def wait_ready(self) -> bytes | None:
        """Wait for the handler import; returns an error payload if init failed."""
        self._lines = []
        init_timeout = max(MIN_INIT_TIMEOUT_S, self.spec.timeout_s)
        try:
            frame = self._read_frame(time.monotonic() + init_timeout)
        except TimeoutError:
            self.stop()
            return _error_json("Sandbox.Timedout", f"Init phase timed out after {init_timeout:.2f} seconds")
        if frame is None:
            return self._exit_error("")
        if "init_error" in frame:
            self.stop()
            return json.dumps(frame["init_error"]).encode()
        return None

    def invoke(self, request_id: str, payload: bytes, invoked_arn: str) -> InvocationOutcome:
        started = time.monotonic()
        self._lines = self._lines if self._lines is not None else []  # keeps the init phase's output
        done = self._done.setdefault(request_id, threading.Event())
        self._log(f"START RequestId: {request_id} Version: {self.spec.version}")
        deadline_ms = int(time.time() * 1000 + self.spec.timeout_s * 1000)
        request = {
            "request_id": request_id,
            "payload": payload.decode() if payload else "{}",
            "deadline_ms": deadline_ms,
            "invoked_function_arn": invoked_arn,
        }
        data = json.dumps(request).encode()
        ok, max_rss = False, 0
        try:
            os.write(self._request_write, FRAME_HEADER.pack(len(data)))
            view = memoryview(data)
            while view:
                view = view[os.write(self._request_write, view) :]
            frame = self._read_frame(started + self.spec.timeout_s)
        except TimeoutError:
            self.stop()
            message = f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout_s:.2f} seconds"
            self._log(
                f"{datetime.now(UTC).isoformat()} {request_id} Task timed out after {self.spec.timeout_s:.2f} seconds"
            )
            result = _error_json("Sandbox.Timedout", message)
        except BrokenPipeError:
            result = self._exit_error(request_id)
        else:
            if frame is None:
                result = self._exit_error(request_id)
            else:
                done.wait(timeout=2.0)  # the handler's last log lines arrive through the log pipe
                ok = bool(frame["ok"])
                result = str(frame["payload"]).encode() if ok else json.dumps(frame["error"]).encode()
                max_rss = int(frame.get("max_rss_mb", 0))  # type: ignore[call-overload]
        duration_ms = (time.monotonic() - started) * 1000
        self._log(f"END RequestId: {request_id}")
        self._log(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{int(duration_ms) + 1} ms\tMemory Size: {self.spec.memory_mb} MB\tMax Memory Used: {max_rss} MB"
        )
        lines, self._lines = self._lines or [], None
        self._done.pop(request_id, None)
        self.last_used = time.monotonic()
        return InvocationOutcome(request_id, ok, result, lines, duration_ms, self.log_stream)

    def _exit_error(self, request_id: str) -> bytes:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.stop()
        status = (
            f"signal: {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exit status {code}"
        )
        return _error_json(
            "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {status}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self._request_write, self._response_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self._request_write = self._response_read = -1
        self._pid_file.unlink(missing_ok=True)


class LambdaWorkerPool:
    """Idle workers per function version, a concurrency cap, and an idle reaper."""

    def __init__(
        self,
        state_dir: Path,
        idle_ttl_s: float = 600.0,
        max_idle_per_function: int = 4,
        max_concurrency: int = 8,
        on_logs: Callable[[FunctionRuntimeSpec, InvocationOutcome], None] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.idle_ttl_s = idle_ttl_s
        self.max_idle_per_function = max_idle_per_function
        self.on_logs = on_logs
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._idle: dict[str, list[LambdaWorker]] = {}
        self._busy: set[LambdaWorker] = set()
        self._log_locks: dict[Path, threading.Lock] = {}
        self._stopped = threading.Event()
        threading.Thread(target=self._reap_idle, name="lambda-idle-reaper", daemon=True).start()

    def invoke(
        self, spec: FunctionRuntimeSpec, payload: bytes, request_id: str, invoked_arn: str
    ) -> InvocationOutcome:
        with self._slots:
            worker = self._take_idle(spec)
            if worker is None:
                spec.log_file.parent.mkdir(parents=True, exist_ok=True)
                with self._lock:
                    log_lock = self._log_locks.setdefault(spec.log_file, threading.Lock())
                worker = LambdaWorker(spec, self.state_dir, log_lock)
                init_error = worker.wait_ready()
                if init_error is not None:
                    outcome = InvocationOutcome(
                        request_id, False, init_error, worker._lines or [], 0.0, worker.log_stream
                    )
                    self._publish_logs(spec, outcome)
                    return outcome
            with self._lock:
                self._busy.add(worker)
            try:
                outcome = worker.invoke(request_id, payload, invoked_arn)
            finally:
                with self._lock:
                    self._busy.discard(worker)
            self._release(worker)
            self._publish_logs(spec, outcome)
            return outcome

    def _publish_logs(self, spec: FunctionRuntimeSpec, outcome: InvocationOutcome) -> None:
        if self.on_logs is not None:
            try:
                self.on_logs(spec, outcome)
            except Exception as exc:  # noqa: BLE001 - logs are best effort, never fail the invoke
                print(f"lambda logs for {spec.function_name} not stored: {exc!r}", file=sys.stderr)

    def _take_idle(self, spec: FunctionRuntimeSpec) -> LambdaWorker | None:
        stale: list[LambdaWorker] = []
        chosen = None
        with self._lock:
            for key in [k for k in self._idle if k.startswith(f"{spec.function_arn}#")]:
                if key != f"{spec.function_arn}#{spec.fingerprint}":
                    stale += self._idle.pop(key)  # code or configuration changed: retire old environments
            idle = self._idle.get(f"{spec.function_arn}#{spec.fingerprint}", [])
            while idle and chosen is None:
                candidate = idle.pop()
                if candidate.alive:
                    chosen = candidate
                else:
                    stale.append(candidate)
        for worker in stale:
            worker.stop()
        return chosen

    def _release(self, worker: LambdaWorker) -> None:
        if not worker.alive:
            worker.stop()
            return
        key = f"{worker.spec.function_arn}#{worker.spec.fingerprint}"
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle_per_function and not self._stopped.is_set():
                idle.append(worker)
                return
        worker.stop()

    def _reap_idle(self) -> None:
        while not self._stopped.wait(timeout=min(30.0, self.idle_ttl_s)):
            expired: list[LambdaWorker] = []
            now = time.monotonic()
            with self._lock:
                for key, idle in list(self._idle.items()):
                    keep = [w for w in idle if now - w.last_used < self.idle_ttl_s and w.alive]
                    expired += [w for w in idle if w not in keep]
                    self._idle[key] = keep
            for worker in expired:
                worker.stop()

    def retire_function(self, function_name: str) -> int:
        """Stop the idle workers of a deleted function now instead of after the idle TTL."""
        with self._lock:
            retired = [
                w for idle in self._idle.values() for w in idle if w.spec.function_name == function_name
            ]
            for key, idle in list(self._idle.items()):
                self._idle[key] = [w for w in idle if w.spec.function_name != function_name]
        for worker in retired:
            worker.stop()
        return len(retired)

    def shutdown(self) -> None:
        self._stopped.set()
        with self._lock:
            workers = [w for idle in self._idle.values() for w in idle] + list(self._busy)
            self._idle.clear()
        for worker in workers:
            worker.stop()
