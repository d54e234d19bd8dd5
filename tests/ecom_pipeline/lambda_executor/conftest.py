"""Fixtures for running jobs on the Lambda executor through the local stack's Lambda (moto + subprocess)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.execution.execution_result import ExecutionResult

from deploy.local.lambda_functions import INSTANCE_MODULES, ensure_step_function, step_environment
from tests.ecom_pipeline.lambda_executor.executor_test_jobs import MODULE, scenario_function_name

# Fast polling so tests notice outcomes within a second; generous start timeout for cold starts on 2 cores.
BASE_EXECUTOR_CONFIG = {
    "poll_interval_seconds": 0.1,
    "health_check_interval_seconds": 1,
    "step_start_timeout_seconds": 90.0,
    "timeout_grace_seconds": 2.0,
}
TIMEOUT_FUNCTION_SECONDS = 20


@pytest.fixture(scope="session")
def step_functions(stack_env: dict[str, str]) -> dict[str, str]:
    """Test functions: a basic one, one whose handler is missing, one with a short timeout, one for termination.

    The timeout function's limit is long enough for a cold start on a loaded machine (init may take as long
    as the timeout) and far shorter than its op, which never finishes on its own.
    """
    names = {}
    preload = f"{INSTANCE_MODULES},{MODULE}"
    preload_tests = step_environment(
        {"ECOM_LAMBDA_PRELOAD_MODULES": preload, "ECOM_LAMBDA_CANCEL_POLL_SECONDS": "1"}
    )
    specs = {
        "basic": dict(timeout_s=60),
        "crash": dict(handler="step_handler.missing_handler", timeout_s=30),
        "timeout": dict(timeout_s=TIMEOUT_FUNCTION_SECONDS),
        "slow": dict(timeout_s=120),
    }
    for kind, spec in specs.items():
        name = scenario_function_name(kind)
        names[name] = ensure_step_function(
            name,
            memory_mb=512,
            environment=preload_tests,
            failure_queue_url=stack_env.get("LAMBDA_DLQ_URL"),
            **spec,
        )
    return names


@pytest.fixture(scope="session")
def instance(stack_env: dict[str, str]) -> Iterator[DagsterInstance]:
    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance


def run_on_lambda(instance: DagsterInstance, job_name: str, **executor_config) -> ExecutionResult:
    """Launch a test job the way a run worker does: reconstructable, on the persistent instance."""
    config = {**BASE_EXECUTOR_CONFIG, **executor_config}
    return execute_job(
        ReconstructableJob.for_module(MODULE, job_name),
        instance=instance,
        run_config={"execution": {"config": config}},
        raise_on_error=False,
    )
