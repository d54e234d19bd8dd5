"""Op tags pick the step function: size class, explicit name, or a clear error."""

import pytest

from ecom_pipeline.constants import LAMBDA_SIZE_TAG
from ecom_pipeline.lambda_executor.sizing import (
    LAMBDA_FUNCTION_TAG,
    UnknownLambdaSizeError,
    function_for_step,
)
from ecom_pipeline.lambda_executor.worker import error_summary, redact


def test_default_size_and_size_tag():
    assert function_for_step("a", {}, "dev") == "ecom-pipeline-step-small-dev"
    assert function_for_step("a", {LAMBDA_SIZE_TAG: "large"}, "prod") == "ecom-pipeline-step-large-prod"


def test_explicit_function_tag_wins():
    tags = {LAMBDA_SIZE_TAG: "large", LAMBDA_FUNCTION_TAG: "custom-fn"}
    assert function_for_step("a", tags, "dev") == "custom-fn"


def test_unknown_size_names_the_step_and_the_known_sizes():
    with pytest.raises(UnknownLambdaSizeError, match="step 'bronze_orders'.*'huge'.*large, small"):
        function_for_step("bronze_orders", {LAMBDA_SIZE_TAG: "huge"}, "dev")


def test_errors_reported_to_the_run_hide_database_passwords():
    url = "postgresql+psycopg2://dagster:s3cret@127.0.0.1:55432/dagster"
    assert redact(f"could not connect to {url}") == (
        "could not connect to postgresql+psycopg2://dagster:***@127.0.0.1:55432/dagster"
    )
    assert "s3cret" not in error_summary(ConnectionError(url))
