"""Which step function runs a step: op tags pick a size class (memory/timeout) or name a function outright."""

from __future__ import annotations

from collections.abc import Mapping

from ecom_pipeline.constants import LAMBDA_FUNCTION_PREFIX, LAMBDA_SIZE_TAG, LAMBDA_STEP_SIZES

# Op tag naming a function explicitly (overrides the size class); used for special-purpose functions.
LAMBDA_FUNCTION_TAG = "ecom/lambda_function"
DEFAULT_SIZE = "small"


class UnknownLambdaSizeError(ValueError):
    pass


def step_function_name(environment: str, size: str, prefix: str = LAMBDA_FUNCTION_PREFIX) -> str:
    """The deployed name of a size class's function, shared with deploy/cdk and deploy/local."""
    return f"{prefix}-{size}-{environment}"


def function_for_step(
    step_key: str,
    step_tags: Mapping[str, str],
    environment: str,
    default_size: str = DEFAULT_SIZE,
    prefix: str = LAMBDA_FUNCTION_PREFIX,
) -> str:
    explicit = step_tags.get(LAMBDA_FUNCTION_TAG)
    if explicit:
        return explicit
    size = step_tags.get(LAMBDA_SIZE_TAG, default_size)
    if size not in LAMBDA_STEP_SIZES:
        known = ", ".join(sorted(LAMBDA_STEP_SIZES))
        raise UnknownLambdaSizeError(
            f"step '{step_key}' has op tag {LAMBDA_SIZE_TAG}={size!r}; known sizes are: {known}"
        )
    return step_function_name(environment, size, prefix)
