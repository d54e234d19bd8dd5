"""Pool limits from the environment, applied to the stack's instance, and enforced across concurrent runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance

from assets.pools import POOLS, SOURCE_API_POOL, SOURCE_DB_POOL
from deploy.instance import pools
from deploy.instance.pools import (
    DEFAULT_POOL_LIMITS,
    PoolLimitError,
    apply_pool_limits,
    limit_variable,
    pool_limits_from_env,
)
from tests.conftest import REPO_ROOT
from tests.deploy.instance.instance_test_jobs import MODULE

RUNS = 3
RUNS_DEADLINE_S = 300  # three run workers, each starting a step process, on a loaded 2-core machine


def test_every_pool_has_a_default_limit_and_a_variable():
    assert set(DEFAULT_POOL_LIMITS) == set(POOLS)
    assert limit_variable(SOURCE_DB_POOL) == "ECOM_POOL_LIMIT_SOURCE_DB"
    assert pool_limits_from_env({}) == DEFAULT_POOL_LIMITS


def test_a_variable_overrides_its_pool_only():
    limits = pool_limits_from_env({"ECOM_POOL_LIMIT_SOURCE_API": " 7 ", "ECOM_POOL_LIMIT_INFLUXDB": ""})
    assert limits == {**DEFAULT_POOL_LIMITS, SOURCE_API_POOL: 7}


@pytest.mark.parametrize("raw", ["four", "-1", "2.5"])
def test_a_limit_that_is_not_a_whole_number_stops_the_start(raw):
    with pytest.raises(PoolLimitError, match="ECOM_POOL_LIMIT_SOURCE_DB"):
        pool_limits_from_env({"ECOM_POOL_LIMIT_SOURCE_DB": raw})


@pytest.fixture
def instance(stack_env: dict[str, str]):
    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance


def test_the_module_sets_every_pool_on_the_instance_from_the_environment(instance, monkeypatch, capsys):
    monkeypatch.setenv("ECOM_POOL_LIMIT_SOURCE_API", "3")
    try:
        assert pools.main([]) == 0
        storage = instance.event_log_storage
        assert storage.get_concurrency_info(SOURCE_API_POOL).slot_count == 3
        for pool in set(POOLS) - {SOURCE_API_POOL}:
            assert storage.get_concurrency_info(pool).slot_count == DEFAULT_POOL_LIMITS[pool]
        assert "pool source_api   limit 3" in capsys.readouterr().out
    finally:
        apply_pool_limits(instance, DEFAULT_POOL_LIMITS)  # what stack-up leaves


def test_instance_config_pools_are_per_op_with_a_default(instance):
    config = instance.get_concurrency_config()
    assert config.pool_config.pool_granularity.value == "op"
    assert config.pool_config.default_pool_limit == 4


def test_steps_of_a_pool_with_limit_one_never_overlap_across_runs(instance, tmp_path: Path):
    """Three runs at once whose step uses a pool of limit 1: the steps run one after another, the others wait
    as the pool's pending steps, and every run succeeds."""
    pool = f"ecom_test_pool_{uuid.uuid4().hex[:8]}"
    apply_pool_limits(instance, {pool: 1})
    env = {
        **os.environ,
        "ECOM_TEST_POOL": pool,
        "ECOM_TEST_RECORD_DIR": str(tmp_path),
        "ECOM_TEST_STEP_SECONDS": "3",
    }
    storage = instance.event_log_storage
    try:
        workers = [
            subprocess.Popen([sys.executable, "-m", MODULE, "pooled_job"], cwd=REPO_ROOT, env=env)
            for _ in range(RUNS)
        ]
        most_claimed, most_pending, deadline = 0, 0, time.monotonic() + RUNS_DEADLINE_S
        while any(worker.poll() is None for worker in workers) and time.monotonic() < deadline:
            info = storage.get_concurrency_info(pool)
            most_claimed = max(most_claimed, len(info.claimed_slots))
            most_pending = max(most_pending, info.pending_step_count)
            time.sleep(0.2)
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        assert [worker.wait(timeout=30) for worker in workers] == [0] * RUNS
        records = sorted(
            (json.loads(path.read_text()) for path in tmp_path.glob("*.json")), key=lambda r: r["start"]
        )
        assert len({record["run_id"] for record in records}) == RUNS
        for earlier, later in zip(records, records[1:], strict=False):
            assert earlier["end"] <= later["start"], f"steps overlapped: {earlier} {later}"
        assert most_claimed == 1
        assert most_pending >= 1  # the UI's pool page showed waiting steps
        assert storage.get_concurrency_info(pool).claimed_slots == []  # every slot was given back
    finally:
        storage.delete_concurrency_limit(pool)


def test_the_daemon_command_sets_the_limits_then_execs_the_daemon(instance):
    """The AWS daemon task's command form: limits first, then exec of the given program (no shell)."""
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.instance.pools",
            "--then",
            sys.executable,
            "-c",
            "print('daemon started')",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "ECOM_POOL_LIMIT_INFLUXDB": "4"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert [line.split()[1] for line in output[:-1]] == list(DEFAULT_POOL_LIMITS)
    assert output[-1] == "daemon started"
