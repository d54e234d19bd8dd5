"""Run monitoring and run retries of deploy/dagster.yaml, with the daemon, on the local stack's PostgreSQL.

The daemon and the code server it launches runs through run against a database of their own (created on the
stack's server for this test), so the run queue, monitoring and retry daemons see only this test's runs. Its instance is deploy/dagster.yaml with a shorter
monitoring poll; everything else (launcher, retries, storage class) is the deployed file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from psycopg2 import sql

from deploy.instance.run_launcher import (
    RUN_WORKER_HOST_TAG,
    ProcessState,
    WorkerReport,
    judge_worker,
    process_state,
)
from deploy.local.postgres_server import DAGSTER_ROLE, PostgresServer
from deploy.local.stack_config import StackConfig
from tests.conftest import REPO_ROOT
from tests.deploy.instance.instance_test_jobs import MODULE

INSTANCE_YAML = REPO_ROOT / "deploy" / "dagster.yaml"
DAGSTER_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"
# A loaded 2-core machine: the daemon and its code server start, then the worker imports the job.
STARTED_WITHIN_S = 300
FAILED_WITHIN_S = 180  # the monitoring poll is 2 s here; the bound is for a starved daemon
RETRY_SUCCEEDS_WITHIN_S = 300
REPORT = WorkerReport(pid=4242, reported_at=1_000.0)


def test_a_worker_without_a_report_is_left_to_the_start_timeout():
    status, _ = judge_worker(None, "host-a", "host-a", None)
    assert status.value == "RUNNING"


def test_a_live_worker_on_this_host_is_running():
    status, message = judge_worker(REPORT, "host-a", "host-a", ProcessState(zombie=False, started_at=999.0))
    assert (status.value, message) == ("RUNNING", "run worker process 4242 is alive")


@pytest.mark.parametrize(
    ("launched_on", "process", "reason"),
    [
        ("host-a", None, "is gone (killed"),
        ("host-a", ProcessState(zombie=True, started_at=999.0), "zombie"),
        ("host-a", ProcessState(zombie=False, started_at=1_100.0), "started after the worker"),
        ("old-task", ProcessState(zombie=False, started_at=999.0), "ran on host old-task, which is gone"),
    ],
)
def test_a_dead_reused_or_foreign_worker_fails(launched_on, process, reason):
    status, message = judge_worker(REPORT, launched_on, "host-a", process)
    assert status.value == "FAILED" and reason in message


def test_process_state_of_this_process_and_of_a_finished_one():
    me = process_state(os.getpid())
    assert me is not None and not me.zombie and me.started_at <= time.time()
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_state(child.pid) is None


@pytest.fixture
def monitored_instance(stack_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh instance database, a DAGSTER_HOME with deploy/dagster.yaml, and the environment to use both."""
    database = f"dagster_monitoring_{uuid.uuid4().hex[:8]}"
    postgres = PostgresServer(StackConfig.from_env())
    admin = postgres.admin_connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(DAGSTER_ROLE)
            )
        )
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 2
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    base_url = stack_env["DAGSTER_PG_URL"].rsplit("/", 1)[0]
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": f"{base_url}/{database}"}
    try:
        yield env
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        admin.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """End a process this test started, and its process group (the daemon's threads, the server's workers)."""
    for sig, wait_s in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        if process.poll() is not None:
            break
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (a worker of a stopped server)


@pytest.fixture
def daemon(monitored_instance: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """`dagster-daemon run` on a workspace whose one code server this test starts itself (no heartbeat), so
    the test can freeze it and end it, and the run workers it starts are its children on this host. Yields
    the workspace file."""
    port = _free_port()
    log = (tmp_path / "daemon.log").open("w")
    started = []
    try:
        server = subprocess.Popen(
            [str(DAGSTER_BIN / "dagster"), "api", "grpc", "--module-name", MODULE, "--host", "127.0.0.1"]
            + ["--port", str(port)],
            cwd=REPO_ROOT,
            env=monitored_instance,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(server)
        _wait_for("the code server listening", STARTED_WITHIN_S, lambda: _listening(port))
        workspace = tmp_path / "workspace.yaml"
        grpc_server = {"host": "127.0.0.1", "port": port, "location_name": "instance_test_jobs"}
        workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": grpc_server}]}))
        started.append(
            subprocess.Popen(
                [str(DAGSTER_BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                cwd=REPO_ROOT,
                env=monitored_instance,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        yield workspace
    finally:
        for process in reversed(started):
            _stop(process)
        log.close()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(what: str, within_s: float, probe):
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {within_s:.0f}s")


def _worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        if entry.message.startswith("Started process for run"):
            return int(entry.dagster_event.engine_event_data.metadata["pid"].value)
    return None


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def test_a_killed_run_worker_fails_its_run_and_a_retry_run_succeeds(
    monitored_instance: dict[str, str], daemon: Path, monkeypatch: pytest.MonkeyPatch
):
    subprocess.run(
        [str(DAGSTER_BIN / "dagster"), "job", "launch", "-w", str(daemon), "-j", "long_job"],
        cwd=REPO_ROOT,
        env=monitored_instance,
        check=True,
        capture_output=True,
    )
    for name in ("DAGSTER_HOME", "DAGSTER_PG_URL"):
        monkeypatch.setenv(name, monitored_instance[name])
    with DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        pid = _wait_for(
            "the queued run's worker reporting its pid",
            STARTED_WITHIN_S,
            lambda: (
                instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
                and _worker_pid(instance, run.run_id)
            ),
        )
        started: DagsterRun = instance.get_run_by_id(run.run_id)
        assert started.tags[RUN_WORKER_HOST_TAG] == socket.gethostname()

        # The code server that started the worker would notice its child die and fail the run itself; with it
        # frozen, as when the whole task or host is gone, only run monitoring can tell.
        code_server = _parent_pid(pid)
        os.kill(code_server, signal.SIGSTOP)
        try:
            os.kill(pid, signal.SIGKILL)
            failed = _wait_for(
                "run monitoring failing the run",
                FAILED_WITHIN_S,
                lambda: (r := instance.get_run_by_id(run.run_id)).status == DagsterRunStatus.FAILURE and r,
            )
        finally:
            os.kill(code_server, signal.SIGCONT)
        failure = instance.all_logs(failed.run_id, of_type=DagsterEventType.RUN_FAILURE)
        assert f"run worker process {pid} exited (zombie)" in failure[-1].message  # its parent was frozen

        retry = _wait_for(
            "a retry run",
            RETRY_SUCCEEDS_WITHIN_S,
            lambda: instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run.run_id})),
        )[0]
        assert retry.tags["dagster/retry_number"] == "1"
        assert retry.tags["dagster/root_run_id"] == run.run_id
        done = _wait_for(
            "the retry run finishing",
            RETRY_SUCCEEDS_WITHIN_S,
            lambda: (r := instance.get_run_by_id(retry.run_id)).is_finished and r,
        )
        assert done.status == DagsterRunStatus.SUCCESS
