"""Small jobs on the Lambda executor, importable by module name inside the local step functions.

Ops pass nothing between steps (Nothing dependencies), as the project's steps exchange data through S3 or
databases. Functions named by `scenario_function_name` are created by the tests' conftest.
"""

import os
import time

from dagster import In, Nothing, Out, RetryPolicy, executor, job, op
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements

from ecom_pipeline.lambda_executor import lambda_executor
from ecom_pipeline.lambda_executor.executor import LAMBDA_EXECUTOR_CONFIG, build_lambda_executor
from ecom_pipeline.lambda_executor.lambda_step_handler import LambdaStepHandler
from ecom_pipeline.lambda_executor.sizing import LAMBDA_FUNCTION_TAG

MODULE = __name__


def scenario_function_name(kind: str) -> str:
    return f"ecom-pipeline-step-test-{kind}-{os.environ.get('ECOM_ENV', 'local')}"


class DuplicatingLambdaStepHandler(LambdaStepHandler):
    """Delivers every invocation twice, as AWS's at-least-once async delivery may."""

    def _invoke(self, function_name: str, payload: bytes) -> str:
        request_id = super()._invoke(function_name, payload)
        super()._invoke(function_name, payload)
        return request_id


@executor(
    name="lambda_duplicating",
    config_schema=LAMBDA_EXECUTOR_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def duplicating_lambda_executor(init_context):
    return build_lambda_executor(dict(init_context.executor_config), DuplicatingLambdaStepHandler)


# The plain scenarios run on a function that preloads only this module: a fast cold start. The size-class
# functions (which preload the whole code location) are exercised by the demo and the benchmark.
BASIC = {LAMBDA_FUNCTION_TAG: scenario_function_name("basic")}


@op(out=Out(Nothing), tags=BASIC)
def first(context):
    context.log.info(f"first ran in pid {os.getpid()}")


@op(ins={"after": In(Nothing)}, out=Out(Nothing), tags=BASIC)
def second(context):
    context.log.info(f"second ran in pid {os.getpid()}")


@job(executor_def=lambda_executor)
def two_step_job():
    second(first())


@job(executor_def=duplicating_lambda_executor)
def duplicated_delivery_job():
    second(first())


@op(out=Out(Nothing), retry_policy=RetryPolicy(max_retries=1), tags=BASIC)
def flaky(context):
    if context.retry_number == 0:
        raise RuntimeError("transient failure on the first attempt")
    context.log.info("second attempt succeeded")


@job(executor_def=lambda_executor)
def flaky_job():
    flaky()


@op(
    out=Out(Nothing),
    retry_policy=RetryPolicy(max_retries=1),
    tags={LAMBDA_FUNCTION_TAG: scenario_function_name("crash")},
)
def on_broken_function():
    raise AssertionError("the broken function must never run a step")


@job(executor_def=lambda_executor)
def crash_job():
    on_broken_function()


OUTLIVED_MESSAGE = "outlives_timeout slept to the end: the function's timeout did not stop it"


@op(out=Out(Nothing), tags={LAMBDA_FUNCTION_TAG: scenario_function_name("timeout")})
def outlives_timeout(context):
    time.sleep(600)  # far beyond the function's timeout: only the timeout can end this step
    context.log.info(OUTLIVED_MESSAGE)


@job(executor_def=lambda_executor)
def timeout_job():
    outlives_timeout()


@op(out=Out(Nothing), tags={LAMBDA_FUNCTION_TAG: scenario_function_name("timeout")})
def warms_the_timeout_function(context):
    context.log.info("the timeout function has a warm worker")


@job(executor_def=lambda_executor)
def warm_timeout_function_job():
    """Leaves a warm worker behind, so the timed-out step does not spend its function time on a cold start."""
    warms_the_timeout_function()


@op(out=Out(Nothing), tags={LAMBDA_FUNCTION_TAG: scenario_function_name("slow")})
def slow(context):
    for _ in range(600):
        time.sleep(0.1)
    context.log.info("slow op was not interrupted")


@job(executor_def=lambda_executor)
def slow_job():
    slow()


@op(out=Out(Nothing), tags={LAMBDA_FUNCTION_TAG: "ecom-pipeline-step-does-not-exist"})
def on_missing_function():
    raise AssertionError("no function exists to run this step")


@job(executor_def=lambda_executor)
def missing_function_job():
    on_missing_function()
