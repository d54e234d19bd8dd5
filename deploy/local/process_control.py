"""Start, find and stop the stack's background processes through pid files.

Every service runs in its own session (process group) so `down` can stop it with everything it spawned,
and a pid file is only trusted when the process behind it still has the expected command line (pids get
reused after a crash).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A service could not be started or stopped; the message names service, port and log file."""


@dataclass(frozen=True)
class ManagedProcess:
    """A named background process of the stack: its pid file, log file and the port it serves."""

    name: str
    run_dir: Path
    logs_dir: Path
    port: int
    cmdline_marker: str

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None. Read-only: `status` calls it without the stack lock."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if is_alive(pid) and self.cmdline_marker in read_cmdline(pid):
            return pid
        return None

    def running_pid(self) -> int | None:
        """pid() or, failing that, an adopted orphan; for callers holding the stack lock."""
        return self.pid() or self.adopt_orphan()

    def adopt_orphan(self) -> int | None:
        """Find our process when its pid file was lost (e.g. a crashed `up`) and record it again."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                leader = os.getpgid(pid) == pid  # we start every service as a session/group leader
            except ProcessLookupError:
                continue
            if leader and is_alive(pid) and self.cmdline_marker in read_cmdline(pid):
                self._write_pid(pid)
                return pid
        return None

    def _write_pid(self, pid: int) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.pid_file.with_name(f".{self.pid_file.name}.{os.getpid()}")
        tmp.write_text(f"{pid}\n")
        os.replace(tmp, self.pid_file)  # atomic: a concurrent `status` never reads a half-written file

    def ensure_port_free(self, port_variable: str) -> None:
        """Before a start: the port must not be held by anything else (e.g. another checkout's stack)."""
        if not port_open(self.port):
            return
        owner = port_owner(self.port)
        who = f"pid {owner[0]} ({owner[1][:160]})" if owner else "a process of another user"
        raise StackError(
            f"port {self.port} ({self.name}) is bound by {who}, which this stack did not start. Stop it "
            f"(another checkout's stack: python -m deploy.local.stack down --state-dir <its .local>) "
            f"or export another {port_variable}"
        )

    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> int:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                user=user,
                start_new_session=True,
            )
        self._write_pid(process.pid)
        return process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
        """Signal the process group, escalate to SIGKILL after `timeout`; True if something was stopped."""
        pid = self.pid() or self.adopt_orphan()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        stop_process_group(pid, sig, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_process_group(pid: int, sig: int, timeout: float) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    target_group = pgid == pid  # started with start_new_session: the leader's group holds its children
    _signal(pid, pgid if target_group else None, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid) and not (target_group and _group_alive(pgid)):
            return
        time.sleep(0.1)
    _signal(pid, pgid if target_group else None, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and is_alive(pid):
        time.sleep(0.1)


def _signal(pid: int, pgid: int | None, sig: int) -> None:
    try:
        if pgid is not None:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid and is_alive(int(entry)):
                    return True
            except ProcessLookupError:
                continue
    return False


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on 127.0.0.1/0.0.0.0:`port`, found through /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    return int(entry), read_cmdline(int(entry))
        except OSError:
            continue
    return None


def wait_until(
    ready: Callable[[], bool],
    *,
    service: str,
    port: int,
    log_file: Path,
    timeout: float,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `ready` until it returns True; raise a StackError naming service, port and log on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not ready yet; the timeout message points at the log
            pass
        if alive is not None and not alive():
            raise StackError(
                f"{service} exited while starting (port {port}); see its log: {log_file}{_log_tail(log_file)}"
            )
        time.sleep(0.2)
    raise StackError(
        f"{service} not ready on 127.0.0.1:{port} after {timeout:.0f}s; see its log: {log_file}{_log_tail(log_file)}"
    )


def _log_tail(log_file: Path, lines: int = 5) -> str:
    """The last lines of a service log, so a failed start explains itself in CI output."""
    try:
        tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"\n  | {line[:300]}" for line in tail)


def wait_port_free(port: int, service: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port):
            return
        time.sleep(0.1)
    raise StackError(f"port {port} of {service} is still bound after {timeout:.0f}s")


def http_status(port: int, path: str, timeout: float = 3.0) -> int | None:
    """Status of GET http://127.0.0.1:{port}{path}, or None when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


class LocalService:
    """A stack service: kept when it answers, otherwise (re)started from scratch and waited for.

    Subclasses set `process`, `port_variable` and `start_timeout`, and implement `is_ready` and `launch`.
    """

    process: ManagedProcess
    port_variable: str
    start_timeout: float = 60.0

    def is_ready(self) -> bool:
        raise NotImplementedError

    def launch(self) -> int:
        """Start the process; returns its pid."""
        raise NotImplementedError

    def ensure_running(self) -> str:
        if self.process.running_pid() is not None and self.is_ready():
            return "running"
        self.process.stop()  # a hung one, or an orphan holding the port; nothing when none runs
        self.process.ensure_port_free(self.port_variable)
        pid = self.launch()
        wait_until(
            self.is_ready,
            service=self.process.name,
            port=self.process.port,
            log_file=self.process.log_file,
            timeout=self.start_timeout,
            # The pid we just started, not pid(): right after exec /proc/<pid>/cmdline can still be
            # empty, and a cmdline check would then report a healthy start as an exit.
            alive=lambda: is_alive(pid),
        )
        return "started"

    def stop(self) -> bool:
        return self.process.stop()
