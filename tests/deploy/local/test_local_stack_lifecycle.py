"""`up` is idempotent and repairs; `down` leaves no process and no bound port.

`down` is exercised on a second, private stack (own ports and state dir) so the shared stack that
teammates use stays up.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from deploy.local.process_control import is_alive, port_open
from deploy.local.stack_config import REPO_ROOT
from deploy.local.stack_env import read_env_file

PORT_VARIABLES = ("ECOM_PG_PORT", "ECOM_MOTO_PORT", "ECOM_INFLUX_PORT", "ECOM_INFLUXD_PORT", "ECOM_API_PORT")


def _stack(command: str, env: dict[str, str] | None = None, state_dir=None) -> tuple[dict[str, str], float]:
    argv = [sys.executable, "-m", "deploy.local.stack", command]
    if state_dir is not None:
        argv += ["--state-dir", str(state_dir)]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr + result.stdout
    states = {}
    for line in result.stdout.splitlines():
        name, _, state = line.partition(" ")
        states[name] = state.strip()
    return states, elapsed


def _pids(state_dir) -> dict[str, int]:
    return {path.stem: int(path.read_text()) for path in (state_dir / "run").glob("*.pid")}


def _free_ports(count: int) -> list[int]:
    """Free ports below the kernel's ephemeral range, so no outgoing connection grabs one meanwhile."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    candidates = random.sample(range(20000, min(low, 32000)), 200)
    return [port for port in candidates if not port_open(port)][:count]


def test_second_up_on_the_shared_stack_changes_nothing(stack_env):
    state_dir = Path(stack_env.get("ECOM_STACK_DIR") or REPO_ROOT / ".local")
    env_file = state_dir / "stack.env"
    before_pids, before_mtime = _pids(state_dir), env_file.stat().st_mtime_ns
    states, elapsed = _stack("up", state_dir=state_dir)  # the environment carries the shared stack's ports
    for service in ("postgres", "moto", "influxd", "influx-proxy"):
        assert states[service] == "running", states
    assert states["stack.env"] == "unchanged"
    assert elapsed < 30  # generous: eight developers share two cores
    core = ("postgres", "moto", "influxd", "influx-proxy")  # source-api belongs to a teammate
    after = _pids(state_dir)
    assert {k: after.get(k) for k in core} == {k: before_pids.get(k) for k in core}
    assert env_file.stat().st_mtime_ns == before_mtime


@pytest.fixture
def private_stack():
    """A throwaway stack on free ports; always taken down, even when the test fails."""
    state_dir = REPO_ROOT / ".local" / "test-stacks" / uuid.uuid4().hex[:8]  # postgres user can traverse it
    ports = dict(zip(PORT_VARIABLES, _free_ports(len(PORT_VARIABLES)), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECOM_", "DAGSTER_"))}
    env.update({k: str(v) for k, v in ports.items()})
    yield state_dir, env, ports
    subprocess.run(
        [sys.executable, "-m", "deploy.local.stack", "down", "--state-dir", str(state_dir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    shutil.rmtree(state_dir, ignore_errors=True)


def test_private_stack_up_repairs_and_down_leaves_nothing_running(private_stack):
    state_dir, env, ports = private_stack
    states, _ = _stack("up", env=env, state_dir=state_dir)
    assert states["postgres"] == states["moto"] == states["influxd"] == "started", states
    variables = read_env_file(state_dir / "stack.env")
    assert variables["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{ports['ECOM_MOTO_PORT']}"
    assert variables["INFLUXDB_URL"] == f"http://127.0.0.1:{ports['ECOM_INFLUX_PORT']}"
    assert oct((state_dir / "stack.env").stat().st_mode & 0o777) == "0o600"
    influxd_port = ports["ECOM_INFLUXD_PORT"]  # HTTP, and RPC on the next port; nothing on 8086/8088
    assert _listening(_pids(state_dir)["influxd"]) == {
        f"127.0.0.1:{influxd_port}",
        f"127.0.0.1:{influxd_port + 1}",
    }

    worker_pid = _start_a_lambda_worker(variables, state_dir)
    pids = _pids(state_dir)
    os.kill(pids["moto"], signal.SIGKILL)  # a half-dead stack: moto crashed, its worker is orphaned
    (state_dir / "run" / "influxd.pid").unlink()  # and a pid file got lost
    states, _ = _stack("up", env=env, state_dir=state_dir)
    assert states["moto"] == "started" and states["postgres"] == "running", states
    assert states["influxd"] == "running", "the running influxd is adopted, not restarted"
    assert _pids(state_dir)["influxd"] == pids["influxd"]
    assert boto3.client(
        "s3",
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).head_bucket(Bucket=variables["LAKE_BUCKET"]), "the bootstrap re-created the AWS side"

    states, _ = _stack("down", env=env, state_dir=state_dir)
    assert states["postgres"] == "stopped" and states["moto"] == "stopped", states
    for pid in [*_pids_before_down(pids), worker_pid]:
        assert not is_alive(pid), f"pid {pid} still running after down"
    for name, port in ports.items():
        if name != "ECOM_API_PORT" or states.get("source-api") == "stopped":
            assert not port_open(port), f"{name}={port} still bound after down"
    assert list((state_dir / "run").glob("*.pid")) == []


def _listening(pid: int) -> set[str]:
    """host:port of every TCP socket `pid` listens on (from `ss`)."""
    output = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    return {line.split()[3] for line in output.splitlines() if f"pid={pid}," in line}


def _pids_before_down(pids: dict[str, int]) -> list[int]:
    return [pid for name, pid in pids.items() if name != "moto"]


def _start_a_lambda_worker(variables: dict[str, str], state_dir: Path) -> int:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    lam = session.client("lambda", endpoint_url=variables["AWS_ENDPOINT_URL"])
    role = session.client("iam", endpoint_url=variables["AWS_ENDPOINT_URL"]).create_role(
        RoleName="lifecycle", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lam.create_function(
        FunctionName="lifecycle",
        PackageType="Image",
        Role=role,
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        ImageConfig={"Command": ["os.getpid"]},
    )
    response = lam.invoke(FunctionName="lifecycle", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"  # os.getpid() takes no (event, context)
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "TypeError"
    worker_pids = [int(p.stem) for p in (state_dir / "run" / "lambda-workers").glob("*.pid")]
    assert worker_pids
    return max(worker_pids)
