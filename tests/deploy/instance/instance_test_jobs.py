"""Throwaway jobs for the instance tests, run in their own processes like a run worker.

`python -m tests.deploy.instance.instance_test_jobs <job>` executes one run on the stack's instance
(DagsterInstance.get()). The pooled op's pool comes from ECOM_TEST_POOL and it records its start and end
in ECOM_TEST_RECORD_DIR, so a test can check that steps of one pool never overlapped.
"""

import json
import os
import sys
import time
from pathlib import Path

from dagster import (
    DagsterInstance,
    Definitions,
    OpExecutionContext,
    execute_job,
    in_process_executor,
    job,
    op,
)
from dagster._core.definitions.reconstruct import ReconstructableJob

MODULE = "tests.deploy.instance.instance_test_jobs"
POOL = os.environ.get("ECOM_TEST_POOL", "ecom_test_pool")
STEP_SECONDS = float(os.environ.get("ECOM_TEST_STEP_SECONDS", "2"))


@op(pool=POOL)
def pooled_step(context: OpExecutionContext) -> None:
    started = time.time()
    time.sleep(STEP_SECONDS)
    record = {"run_id": context.run_id, "pid": os.getpid(), "start": started, "end": time.time()}
    Path(os.environ["ECOM_TEST_RECORD_DIR"], f"{context.run_id}.json").write_text(json.dumps(record))


@job
def pooled_job() -> None:
    pooled_step()


@op
def long_step(context: OpExecutionContext) -> None:
    """Runs until its run worker is killed (the run monitoring test); a retry run finishes at once."""
    if "dagster/retry_number" in context.run.tags:
        return
    context.log.info(f"long step in pid {os.getpid()}")
    time.sleep(600)


@job(executor_def=in_process_executor)  # the step runs in the run worker, so killing the worker ends it
def long_job() -> None:
    long_step()


defs = Definitions(jobs=[pooled_job, long_job])


def main(job_name: str) -> int:
    with DagsterInstance.get() as instance:
        result = execute_job(
            ReconstructableJob.for_module(MODULE, job_name),
            instance=instance,
            run_config={"execution": {"config": {"in_process": {}}}},  # one process per run: quicker to start
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
