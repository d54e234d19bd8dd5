"""The step functions: sizes from ecom_pipeline.constants, limits, network, tracing, logs, async config, alarms."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from ecom_pipeline.constants import LAMBDA_FUNCTION_PREFIX, LAMBDA_STEP_SIZES
from tests.deploy.cdk.conftest import Synthesized
from tests.deploy.cdk.template_refs import logical_name, readable

# docs/CONTRACTS.md names, with production values; local-only ones must not leak into AWS.
CONTRACT_VARIABLES = {
    "ECOM_ENV",
    "LAKE_BUCKET",
    "UPLOADS_BUCKET",
    "SERIES_BUCKET",
    "IMPORTS_BUCKET",
    "DAGSTER_LOGS_BUCKET",
    "CHECKPOINT_TABLE",
    "UPLOAD_RECORDS_TABLE",
    "UPLOAD_ERRORS_QUEUE_URL",
    "IMPORT_DLQ_URL",
    "LAMBDA_DLQ_URL",
    "NOTIFICATIONS_TOPIC_ARN",
    "RDS_SECRET_NAME",
    "API_KEY_SECRET_NAME",
    "INFLUXDB_URL",
    "INFLUXDB_ORG",
    "INFLUXDB_BUCKET",
    "INFLUXDB_TOKEN_SECRET_NAME",
    "PAYMENTS_API_URL",
    "SHIPMENTS_API_URL",
}
LOCAL_ONLY = {
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "ECOM_SOURCE_DSN",
    "DAGSTER_PG_URL",
    "INFLUXDB_TOKEN",
}
SEED_ERROR_THRESHOLDS = {"small": 5, "large": 3}


def _functions(synth: Synthesized) -> dict[str, dict]:
    functions = synth.templates["StepFunctions"].find_resources("AWS::Lambda::Function")
    return {resource["Properties"]["FunctionName"]: resource["Properties"] for resource in functions.values()}


def test_one_image_function_per_size_class(dev: Synthesized) -> None:
    names = {f"{LAMBDA_FUNCTION_PREFIX}-{size}-dev" for size in LAMBDA_STEP_SIZES}
    assert set(_functions(dev)) == names
    for properties in _functions(dev).values():
        assert properties["PackageType"] == "Image"
        assert "Runtime" not in properties and "Handler" not in properties  # the image's CMD is the handler
        assert properties["Architectures"] == ["x86_64"]


@pytest.mark.parametrize("size", sorted(LAMBDA_STEP_SIZES))
def test_memory_timeout_concurrency_tracing_and_network(dev: Synthesized, size: str) -> None:
    limits = LAMBDA_STEP_SIZES[size]
    name = f"{LAMBDA_FUNCTION_PREFIX}-{size}-dev"
    dev.templates["StepFunctions"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": name,
            "MemorySize": limits["memory_mb"],
            "Timeout": limits["timeout_s"],
            "ReservedConcurrentExecutions": 5,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp(f"^{size.title()}LogGroup")}},
            "VpcConfig": {"SecurityGroupIds": [Match.any_value()], "SubnetIds": Match.any_value()},
        },
    )
    properties = _functions(dev)[name]
    assert [readable(g) for g in properties["VpcConfig"]["SecurityGroupIds"]] == [
        "StepFunctionsSecurityGroup.GroupId"
    ]
    subnets = [readable(s) for s in properties["VpcConfig"]["SubnetIds"]]
    assert len(subnets) == 2 and all("privateSubnet" in s for s in subnets), subnets


def test_the_large_function_has_bronze_sizing_from_seed_001() -> None:
    assert LAMBDA_STEP_SIZES["large"] == {"memory_mb": 2048, "timeout_s": 900}
    assert LAMBDA_STEP_SIZES["small"]["memory_mb"] == 512


@pytest.mark.parametrize("size", sorted(LAMBDA_STEP_SIZES))
def test_environment_carries_the_contract_variables_and_nothing_local(dev: Synthesized, size: str) -> None:
    variables = _functions(dev)[f"{LAMBDA_FUNCTION_PREFIX}-{size}-dev"]["Environment"]["Variables"]
    assert CONTRACT_VARIABLES <= set(variables)
    assert not LOCAL_ONLY & set(variables)
    assert variables["ECOM_ENV"] == "dev"
    assert variables["ECOM_LAMBDA_SIZE"] == size
    assert variables["ECOM_STEP_EXECUTOR"] == "lambda"  # the same code location as the daemon's
    assert variables["RDS_SECRET_NAME"] == "ecommerce/rds/credentials"
    assert variables["INFLUXDB_URL"] == "https://influxdb.example.com:8086"
    # Steps reach the instance database through RDS Proxy; the password stays in Secrets Manager.
    assert readable(variables["DAGSTER_PG_HOST"]) == "Proxy.Endpoint"
    assert readable(variables["DAGSTER_PG_SECRET_NAME"]) == "InstanceSecretAttachment"
    assert readable(variables["LAKE_BUCKET"]) == "LakeBucket"
    assert readable(variables["LAMBDA_DLQ_URL"]) == "LambdaDlq"  # Ref of a queue is its URL
    assert not any("password" in str(value).lower() for value in variables.values())


def test_async_invocations_are_never_retried_by_aws_and_fail_to_the_dlq(dev: Synthesized) -> None:
    template = dev.templates["StepFunctions"]
    configs = template.find_resources("AWS::Lambda::EventInvokeConfig")
    assert len(configs) == len(LAMBDA_STEP_SIZES)
    for config in configs.values():
        properties = config["Properties"]
        assert properties["MaximumRetryAttempts"] == 0
        assert properties["MaximumEventAgeInSeconds"] == 3600
        assert properties["Qualifier"] == "$LATEST"
        assert readable(properties["DestinationConfig"]["OnFailure"]["Destination"]) == "LambdaDlq.Arn"


def test_log_groups_keep_7_days_in_dev_and_30_in_prod(dev: Synthesized, prod: Synthesized) -> None:
    for synth, suffix, days in ((dev, "dev", 7), (prod, "prod", 30)):
        for size in LAMBDA_STEP_SIZES:
            synth.templates["StepFunctions"].has_resource_properties(
                "AWS::Logs::LogGroup",
                {
                    "LogGroupName": f"/aws/lambda/{LAMBDA_FUNCTION_PREFIX}-{size}-{suffix}",
                    "RetentionInDays": days,
                },
            )


def test_prod_reserves_more_light_capacity(prod: Synthesized) -> None:
    functions = _functions(prod)
    assert functions[f"{LAMBDA_FUNCTION_PREFIX}-small-prod"]["ReservedConcurrentExecutions"] == 20
    assert functions[f"{LAMBDA_FUNCTION_PREFIX}-large-prod"]["ReservedConcurrentExecutions"] == 5


def _alarm(synth: Synthesized, name: str) -> dict:
    alarms = synth.templates["StepFunctions"].find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": name}}
    )
    assert len(alarms) == 1, name
    return next(iter(alarms.values()))["Properties"]


@pytest.mark.parametrize("size", sorted(LAMBDA_STEP_SIZES))
def test_error_alarms_use_the_seed_thresholds_per_10_minutes(dev: Synthesized, size: str) -> None:
    alarm = _alarm(dev, f"{LAMBDA_FUNCTION_PREFIX}-{size}-dev-errors")
    assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Statistic"] == "Sum" and alarm["Period"] == 600 and alarm["EvaluationPeriods"] == 1
    assert alarm["Threshold"] == SEED_ERROR_THRESHOLDS[size]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert [readable(d["Value"]) for d in alarm["Dimensions"]] == [f"{size.title()}StepFunction"]
    assert [readable(a) for a in alarm["AlarmActions"]] == ["NotificationsTopic"]


@pytest.mark.parametrize(("size", "threshold_ms"), [("large", 780_000), ("small", 260_000)])
def test_duration_alarms_fire_near_the_timeout(dev: Synthesized, size: str, threshold_ms: int) -> None:
    """Seed 001: > 13 minutes for the 15-minute function; the same 13/15 for the 5-minute one."""
    alarm = _alarm(dev, f"{LAMBDA_FUNCTION_PREFIX}-{size}-dev-duration-near-timeout")
    assert alarm["MetricName"] == "Duration" and alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == threshold_ms
    assert alarm["Threshold"] < LAMBDA_STEP_SIZES[size]["timeout_s"] * 1000
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert [readable(a) for a in alarm["AlarmActions"]] == ["NotificationsTopic"]


def test_a_message_in_the_lambda_dlq_raises_an_alarm(dev: Synthesized) -> None:
    alarm = _alarm(dev, "lambda-dlq-not-empty-dev")
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Namespace"] == "AWS/SQS"
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert [readable(d["Value"]) for d in alarm["Dimensions"]] == ["LambdaDlq.QueueName"]


def test_only_the_expected_alarms_exist(dev: Synthesized) -> None:
    alarms = dev.templates["StepFunctions"].find_resources("AWS::CloudWatch::Alarm")
    assert {logical_name(logical_id) for logical_id in alarms} == {
        "SmallErrorsAlarm",
        "SmallDurationAlarm",
        "LargeErrorsAlarm",
        "LargeDurationAlarm",
        "LambdaDlqAlarm",
    }


def test_outputs_name_the_function_arns(dev: Synthesized) -> None:
    outputs = dev.json("StepFunctions")["Outputs"]
    for size in ("Small", "Large"):
        assert readable(outputs[f"{size}StepFunctionArn"]["Value"]) == f"{size}StepFunction.Arn"
