"""Dagster's default run launcher plus a run worker health check by process id, for run monitoring.

The default launcher starts each run worker as a child process of the code server that the daemon runs, on
the daemon's host (locally, and in the daemon's ECS task on AWS), and offers no health check: a worker that
dies (SIGKILL, out of memory, the task stopped) leaves its run STARTED forever and its pool slots claimed.
With this launcher, run monitoring (deploy/dagster.yaml) asks every poll whether the worker's process is
still there and fails the run when it is not; run retries then launch a new run.

The worker reports its pid itself ("Started process for run (pid: N)"); the launcher tags the run with the
host it launched on, because a pid only means something on that host. Private Dagster imports are allowed in
deploy/: the launcher extends DefaultRunLauncher and returns its health check types.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData

RUN_WORKER_HOST_TAG = "ecom/run_worker_host"
WORKER_STARTED_PREFIX = "Started process for run"
# The worker reports its pid after it started, so its process cannot be younger than the report; /proc
# gives boot time in whole seconds, hence the slack.
PID_REUSE_SLACK_S = 2.0


@dataclass(frozen=True)
class WorkerReport:
    """What the run's event log says about its worker process."""

    pid: int
    reported_at: float


@dataclass(frozen=True)
class ProcessState:
    """A process as /proc shows it: alive or a zombie, and when it started (epoch seconds)."""

    zombie: bool
    started_at: float | None


def judge_worker(
    report: WorkerReport | None,
    launched_on: str | None,
    this_host: str,
    process: ProcessState | None,
) -> tuple[WorkerStatus, str]:
    """The worker's status from its report, the host it ran on and what this host knows of the pid."""
    if report is None:
        # Not started through this launcher's code server yet (or executed in-process by a test or
        # `execute_job`): nothing to check, and run monitoring's start timeout covers a launch that hangs.
        return WorkerStatus.RUNNING, "no run worker process reported yet"
    if launched_on is not None and launched_on != this_host:
        # Only the daemon launches runs (the QueuedRunCoordinator), and its workers live on its host: a worker
        # on another host belonged to a daemon (an ECS task) that has been replaced, and died with it.
        return WorkerStatus.FAILED, (
            f"run worker pid {report.pid} ran on host {launched_on}, which is gone: this daemon runs on "
            f"{this_host} (the daemon's task was replaced while the run was in progress)"
        )
    if process is None:
        return (
            WorkerStatus.FAILED,
            f"run worker process {report.pid} is gone (killed, out of memory or crashed)",
        )
    if process.zombie:
        return (
            WorkerStatus.FAILED,
            f"run worker process {report.pid} exited (zombie) without finishing the run",
        )
    if process.started_at is not None and process.started_at > report.reported_at + PID_REUSE_SLACK_S:
        return WorkerStatus.FAILED, (
            f"run worker process {report.pid} is gone: that pid now belongs to a process started after the worker"
        )
    return WorkerStatus.RUNNING, f"run worker process {report.pid} is alive"


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


def process_state(pid: int) -> ProcessState | None:
    """The process with this pid on this host, or None when there is none."""
    stat_file = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():  # no procfs (macOS): existence only
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ProcessState(zombie=False, started_at=None)
    try:
        stat = stat_file.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields after the command name, which is in parentheses and may itself contain spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start_ticks = fields[0], int(fields[19])
    started_at = _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
    return ProcessState(zombie=state in ("Z", "X"), started_at=started_at)


class PidCheckedRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose `check_run_worker_health` looks for the worker's process on this host."""

    def __init__(self, inst_data: ConfigurableClassData | None = None):
        super().__init__(inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> PidCheckedRunLauncher:
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        self._instance.add_run_tags(context.dagster_run.run_id, {RUN_WORKER_HOST_TAG: socket.gethostname()})
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _worker_report(self, run_id: str) -> WorkerReport | None:
        reports = [
            WorkerReport(
                pid=int(entry.dagster_event.engine_event_data.metadata["pid"].value),
                reported_at=entry.timestamp,
            )
            for entry in self._instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if entry.dagster_event is not None
            and entry.message.startswith(WORKER_STARTED_PREFIX)
            and "pid" in entry.dagster_event.engine_event_data.metadata
        ]
        return reports[-1] if reports else None  # the latest worker of the run

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        report = self._worker_report(run.run_id)
        process = process_state(report.pid) if report else None
        status, message = judge_worker(
            report, run.tags.get(RUN_WORKER_HOST_TAG), socket.gethostname(), process
        )
        return CheckRunHealthResult(status, message, run_worker_id=str(report.pid) if report else None)
