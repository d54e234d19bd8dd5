"""Local stack CLI: `python -m deploy.local.stack up|down|status [--state-dir DIR]`.

`up` is idempotent: running services are only health-checked, dead or hung ones are restarted, the AWS
resources are re-asserted and `stack.env` is rewritten only when it changes. `down` stops every process
the stack started (pid files under `<state>/run/`) and waits until its ports are free. A file lock
serialises concurrent `up`/`down` calls of teammates sharing one state dir.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.local import local_credentials
from deploy.local.aws_bootstrap import bootstrap
from deploy.local.influx_auth_proxy import InfluxAuthProxy
from deploy.local.influxd_server import InfluxdServer
from deploy.local.moto_server import MotoServer
from deploy.local.postgres_server import PostgresServer
from deploy.local.process_control import (
    LocalService,
    ManagedProcess,
    StackError,
    http_status,
    is_alive,
    port_open,
    read_cmdline,
    stop_process_group,
    wait_port_free,
)
from deploy.local.stack_config import REPO_ROOT, StackConfig
from deploy.local.stack_env import stack_variables, write_stack_files

SOURCE_API_MODULE = "deploy.local.source_api"


class SourceApiServer(LocalService):
    """The payments/shipments API; started last, with the variables of stack.env."""

    port_variable = "ECOM_API_PORT"

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.variables: dict[str, str] = {}
        self.process = ManagedProcess(
            name="source-api",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.api_port,
            cmdline_marker=f"{SOURCE_API_MODULE} --port {config.api_port}",
        )

    def is_ready(self) -> bool:
        return http_status(self.config.api_port, "/health") == 200

    def launch(self) -> int:
        env = {**os.environ, **self.variables}
        argv = [sys.executable, "-m", SOURCE_API_MODULE, "--port", str(self.config.api_port)]
        return self.process.start(argv, env=env, cwd=REPO_ROOT)

    def ensure_running_with(self, variables: dict[str, str]) -> str:
        self.variables = variables
        return self.ensure_running()


@contextmanager
def stack_lock(config: StackConfig) -> Iterator[None]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with open(config.state_dir / "stack.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(config: StackConfig) -> dict[str, str]:
    """Start or repair every service; returns service -> what happened."""
    config.ensure_dirs()
    credentials = local_credentials.load_or_create(config.secrets_file)
    states: dict[str, str] = {}
    postgres = PostgresServer(config)
    states["postgres"] = postgres.ensure_running()
    postgres.provision(credentials.ecom_db_password)
    states["moto"] = MotoServer(config).ensure_running()
    aws_outputs = bootstrap(config, credentials)
    states["influxd"] = InfluxdServer(config).ensure_running()
    states["influx-proxy"] = InfluxAuthProxy(config).ensure_running()
    variables = stack_variables(config, credentials, aws_outputs)
    changed = write_stack_files(config, variables)
    states["stack.env"] = "written" if config.env_file in changed else "unchanged"
    states["source-api"] = SourceApiServer(config).ensure_running_with(variables)
    return states


def _services(config: StackConfig) -> list[tuple[str, ManagedProcess]]:
    return [
        ("source-api", SourceApiServer(config).process),
        ("influx-proxy", InfluxAuthProxy(config).process),
        ("influxd", InfluxdServer(config).process),
        ("moto", MotoServer(config).process),
        ("postgres", PostgresServer(config).process),
    ]


def down(config: StackConfig) -> dict[str, str]:
    states = {}
    for name, process in _services(config):
        sig = signal.SIGINT if name == "postgres" else signal.SIGTERM  # postgres: fast shutdown
        states[name] = "stopped" if process.stop(sig, timeout=30) else "not running"
    states["lambda workers"] = f"{_stop_leftover_lambda_workers(config)} stopped"
    for name, process in _services(config):
        wait_port_free(process.port, name)
    return states


def _stop_leftover_lambda_workers(config: StackConfig) -> int:
    """Workers the moto server could not stop itself (e.g. it was killed); identified by pid file."""
    stopped = 0
    worker_dir = config.run_dir / "lambda-workers"
    for pid_file in worker_dir.glob("*.pid") if worker_dir.is_dir() else []:
        pid = int(pid_file.stem)
        cmdline = read_cmdline(pid)
        if is_alive(pid) and "lambda_subprocess_runtime" in cmdline and str(config.state_dir) in cmdline:
            stop_process_group(pid, signal.SIGKILL, timeout=5)
            stopped += 1
        pid_file.unlink(missing_ok=True)
    return stopped


def _live_lambda_workers(config: StackConfig) -> int:
    worker_dir = config.run_dir / "lambda-workers"
    pids = [int(path.stem) for path in worker_dir.glob("*.pid")] if worker_dir.is_dir() else []
    return sum(1 for pid in pids if is_alive(pid) and "lambda_subprocess_runtime" in read_cmdline(pid))


def status(config: StackConfig) -> list[tuple[str, str, int, str]]:
    rows = []
    for name, process in reversed(_services(config)):
        pid = process.pid()
        state = f"running (pid {pid})" if pid else "stopped"
        if pid and not port_open(process.port):
            state = f"not listening (pid {pid})"
        rows.append((name, state, process.port, str(process.log_file)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", help="default: $ECOM_STACK_DIR or <repo>/.local")
    args = parser.parse_args(argv)
    config = StackConfig.from_env(args.state_dir)
    started = time.monotonic()
    try:
        if args.command == "status":
            for name, state, port, log in status(config):
                print(f"{name:<17} {state:<26} 127.0.0.1:{port:<6} {log}")
            print(
                f"{'lambda workers':<17} {_live_lambda_workers(config)} running        {config.lambda_logs_dir}/"
            )
            return 0
        with stack_lock(config):
            states = up(config) if args.command == "up" else down(config)
    except StackError as exc:
        print(f"stack {args.command} failed: {exc}", file=sys.stderr)
        return 1
    for name, state in states.items():
        print(f"{name:<17} {state}")
    if args.command == "up":
        print(f"env file: {config.env_file}  (set -a; . {config.env_file}; set +a)")
    print(f"stack {args.command} done in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
