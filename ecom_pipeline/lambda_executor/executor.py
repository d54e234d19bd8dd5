"""`lambda_executor`: Dagster's step-delegating executor with each step run as an AWS Lambda invocation.

Built on StepDelegatingExecutor, an internal Dagster API, hence `dagster==1.13.*` in pyproject. Step
verification stays on so a delivery of an attempt that already ran is refused by the handler.
"""

from __future__ import annotations

import os

from dagster import Field, IntSource, Noneable, StringSource, executor
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.execution.tags import get_tag_concurrency_limits_config
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating import StepDelegatingExecutor

from ecom_pipeline.lambda_executor.lambda_step_handler import LambdaStepHandler, LambdaStepSettings
from ecom_pipeline.lambda_executor.payload import DEFAULT_INLINE_LIMIT_BYTES
from ecom_pipeline.lambda_executor.sizing import DEFAULT_SIZE

LAMBDA_EXECUTOR_CONFIG = {
    "environment": Field(
        Noneable(StringSource),
        default_value=None,
        description="Environment suffix of the step functions' names; default: the ECOM_ENV variable.",
    ),
    "payload_bucket": Field(
        Noneable(StringSource),
        default_value=None,
        description="Bucket for step arguments too large to invoke with; default: DAGSTER_LOGS_BUCKET.",
    ),
    "payload_prefix": Field(str, default_value="lambda-executor/payloads"),
    "inline_payload_limit_bytes": Field(
        int,
        default_value=DEFAULT_INLINE_LIMIT_BYTES,
        description="Events larger than this carry an S3 pointer instead of the arguments (Lambda: 256 KiB).",
    ),
    "default_size": Field(str, default_value=DEFAULT_SIZE, description="Size class when a step has no tag."),
    "step_start_timeout_seconds": Field(
        float,
        default_value=120.0,
        description="A step whose handler has not reported within this time of the invoke fails (cold start, "
        "throttling, init crash).",
    ),
    "timeout_grace_seconds": Field(
        float,
        default_value=15.0,
        description="Slack after the function's own deadline before the step fails.",
    ),
    "health_check_interval_seconds": Field(IntSource, default_value=5),
    "poll_interval_seconds": Field(
        float, default_value=0.2, description="How often the executor reads the event log for step events."
    ),
    "retries": get_retries_config(),
    "max_concurrent": Field(Noneable(IntSource), default_value=None),
    "tag_concurrency_limits": get_tag_concurrency_limits_config(),
}


def build_lambda_executor(
    config: dict, handler_class: type[LambdaStepHandler] = LambdaStepHandler
) -> StepDelegatingExecutor:
    """The executor from its (resolved) config; `handler_class` lets tests simulate the transport."""
    environment = config.get("environment") or os.environ.get("ECOM_ENV", "local")
    settings = LambdaStepSettings(
        environment=environment,
        payload_bucket=config.get("payload_bucket") or os.environ.get("DAGSTER_LOGS_BUCKET"),
        payload_prefix=config["payload_prefix"],
        inline_limit_bytes=config["inline_payload_limit_bytes"],
        default_size=config["default_size"],
        step_start_timeout_s=config["step_start_timeout_seconds"],
        timeout_grace_s=config["timeout_grace_seconds"],
    )
    return StepDelegatingExecutor(
        handler_class(settings),
        retries=RetryMode.from_config(config["retries"]),
        sleep_seconds=config["poll_interval_seconds"],
        check_step_health_interval_seconds=config["health_check_interval_seconds"],
        max_concurrent=config.get("max_concurrent"),
        tag_concurrency_limits=config.get("tag_concurrency_limits"),
        should_verify_step=True,
    )


@executor(
    name="lambda",
    config_schema=LAMBDA_EXECUTOR_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def lambda_executor(init_context: InitExecutorContext) -> StepDelegatingExecutor:
    """Run every step as an asynchronous invocation of a step function sized by the op's `ecom/lambda_size` tag.

    Steps execute against the run's instance (PostgreSQL), so the function's DAGSTER_PG_URL must reach it.
    """
    return build_lambda_executor(dict(init_context.executor_config))
