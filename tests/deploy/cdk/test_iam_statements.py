"""Every IAM role of the deployment and every statement of its policies, compared whole.

A new permission anywhere (a `grant_*` call, a construct default) fails here until it is written down.
"""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from deploy.cdk.step_functions_stack import VPC_NETWORK_INTERFACE_ACTIONS
from tests.deploy.cdk.conftest import STACK_PARTS, Synthesized
from tests.deploy.cdk.template_refs import as_list, logical_name, readable, role_statements

ACCOUNT_ARN = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}"
SOURCE_DB_SECRET = (
    ACCOUNT_ARN.replace("{service}", "secretsmanager") + ":secret:ecommerce/rds/credentials-??????"
)
ASSET_REPOSITORY = (
    ACCOUNT_ARN.replace("{service}", "ecr")
    + ":repository/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}"
)
INSTANCE_SECRET = "InstanceSecretAttachment"
METRIC_CONDITION = {
    "StringEquals": {
        "cloudwatch:namespace": ["EcommerceProductOnboarding", "ONS/InfluxDB", "EcomPipeline/MetricImports"]
    }
}


def statement(
    sid: str | None, actions: list[str], resources: list[str], condition: dict | None = None
) -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": sorted(resources),
        **({"Condition": condition} if condition else {}),
    }


BUCKETS = ["LakeBucket", "UploadsBucket", "SeriesBucket", "ImportsBucket", "DagsterLogsBucket"]
PIPELINE_STATEMENTS = [
    statement("ListPipelineBuckets", ["s3:ListBucket"], [f"{b}.Arn" for b in BUCKETS]),
    statement("ReadPipelineObjects", ["s3:GetObject"], [f"{b}.Arn/*" for b in BUCKETS]),
    statement("WriteLake", ["s3:PutObject", "s3:DeleteObject"], ["LakeBucket.Arn/*"]),
    statement("WriteComputeLogsAndStepPayloads", ["s3:PutObject"], ["DagsterLogsBucket.Arn/*"]),
    statement("WriteUploadErrorReports", ["s3:PutObject"], ["UploadsBucket.Arn/uploads/*/error_reports/*"]),
    statement("QuarantineRejectedImports", ["s3:PutObject"], ["ImportsBucket.Arn/quarantine/*"]),
    statement("BronzeCheckpoints", ["dynamodb:GetItem", "dynamodb:PutItem"], ["CheckpointTable.Arn"]),
    statement(
        "UploadRecords",
        ["dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
        ["UploadRecordsTable.Arn"],
    ),
    statement("RejectedRecordQueues", ["sqs:SendMessage"], ["UploadErrorsQueue.Arn", "MetricImportDlq.Arn"]),
    statement("Notifications", ["sns:Publish"], ["NotificationsTopic"]),
    statement(
        "ReadSecrets",
        ["secretsmanager:GetSecretValue"],
        [SOURCE_DB_SECRET, "PaymentsApiKeySecret", "InfluxDbTokenSecret", INSTANCE_SECRET],
    ),
    statement("PipelineMetrics", ["cloudwatch:PutMetricData"], ["*"], METRIC_CONDITION),
]


def step_function_statements(size: str) -> list[dict]:
    return [
        statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{size}LogGroup.Arn"]),
        statement("VpcNetworkInterfaces", VPC_NETWORK_INTERFACE_ACTIONS, ["*"]),
        *PIPELINE_STATEMENTS,
        # Added by CDK for Tracing.ACTIVE and the on-failure destination.
        statement(None, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        statement(None, ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], ["LambdaDlq.Arn"]),
    ]


def execution_role_statements(service: str) -> list[dict]:
    """CDK's ECS execution role: pull the image, write the task's logs. No secret: nothing is injected into the
    environment (the task role reads the instance database's secret itself, deploy/README.md)."""
    return [
        statement(
            None,
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            [ASSET_REPOSITORY],
        ),
        statement(None, ["ecr:GetAuthorizationToken"], ["*"]),
        statement(None, ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{service}LogGroup.Arn"]),
    ]


# (stack part, role logical name) -> (service principal, statements)
EXPECTED_ROLES: dict[tuple[str, str], tuple[str, list[dict]]] = {
    ("StepFunctions", "SmallStepFunctionRole"): ("lambda.amazonaws.com", step_function_statements("Small")),
    ("StepFunctions", "LargeStepFunctionRole"): ("lambda.amazonaws.com", step_function_statements("Large")),
    ("Orchestrator", "DaemonTaskRole"): (
        "ecs-tasks.amazonaws.com",
        [
            *PIPELINE_STATEMENTS,
            statement(
                "InvokeStepFunctions",
                ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                ["SmallStepFunction.Arn", "LargeStepFunction.Arn"],
            ),
        ],
    ),
    ("Orchestrator", "WebserverTaskRole"): (
        "ecs-tasks.amazonaws.com",
        [
            statement("ListComputeLogs", ["s3:ListBucket"], ["DagsterLogsBucket.Arn"]),
            statement("ReadComputeLogs", ["s3:GetObject"], ["DagsterLogsBucket.Arn/*"]),
            statement("ReadInstanceDatabaseSecret", ["secretsmanager:GetSecretValue"], [INSTANCE_SECRET]),
        ],
    ),
    ("Orchestrator", "DaemonTaskDefinitionExecutionRole"): (
        "ecs-tasks.amazonaws.com",
        execution_role_statements("Daemon"),
    ),
    ("Orchestrator", "WebserverTaskDefinitionExecutionRole"): (
        "ecs-tasks.amazonaws.com",
        execution_role_statements("Webserver"),
    ),
    ("InstanceDatabase", "ProxyIAMRole"): (
        "rds.amazonaws.com",
        [
            statement(
                None, ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [INSTANCE_SECRET]
            )
        ],
    ),
}
# Resource "*" only where the action has no resource-level permissions.
ALLOWED_ON_ANY_RESOURCE = {
    *VPC_NETWORK_INTERFACE_ACTIONS,
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
}


def canonical(statements: list[dict]) -> list[str]:
    return sorted(json.dumps(s, sort_keys=True) for s in statements)


def all_roles(synth: Synthesized) -> set[tuple[str, str]]:
    return {
        (part, logical_name(logical_id))
        for part in STACK_PARTS
        for logical_id in synth.templates[part].find_resources("AWS::IAM::Role")
    }


def test_the_deployment_has_exactly_the_expected_roles(dev: Synthesized) -> None:
    assert all_roles(dev) == set(EXPECTED_ROLES)


def test_every_statement_of_every_role(dev: Synthesized) -> None:
    for (part, role), (_, expected) in EXPECTED_ROLES.items():
        actual = role_statements(dev.json(part), role)
        assert canonical(actual) == canonical(expected), f"{part}/{role}"


def test_roles_trust_one_service_and_carry_no_managed_policies(dev: Synthesized) -> None:
    for (part, role), (principal, _) in EXPECTED_ROLES.items():
        template = dev.templates[part]
        roles = template.find_resources(
            "AWS::IAM::Role",
            {
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Action": "sts:AssumeRole",
                                "Effect": "Allow",
                                "Principal": {"Service": principal},
                            }
                        ]
                    }
                }
            },
        )
        matching = [logical_id for logical_id in roles if logical_name(logical_id) == role]
        assert len(matching) == 1, f"{part}/{role} should be assumable by {principal} only"
        properties = roles[matching[0]]["Properties"]
        assert "ManagedPolicyArns" not in properties and "Policies" not in properties, f"{part}/{role}"


def test_step_function_roles_are_named_per_function(dev: Synthesized) -> None:
    template = dev.templates["StepFunctions"]
    for size in ("small", "large"):
        template.has_resource_properties(
            "AWS::IAM::Role", {"RoleName": f"ecom-pipeline-step-{size}-role-dev", "Path": Match.absent()}
        )


def test_no_wildcard_actions_and_wildcard_resources_only_where_aws_requires(dev: Synthesized) -> None:
    checked = 0
    for part in STACK_PARTS:
        for policy in dev.templates[part].find_resources("AWS::IAM::Policy").values():
            for raw in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = as_list(raw["Action"])
                resources = [readable(r) for r in as_list(raw["Resource"])]
                assert raw["Effect"] == "Allow"
                assert not any("*" in action for action in actions), raw
                if "*" in resources:
                    assert resources == ["*"] and set(actions) <= ALLOWED_ON_ANY_RESOURCE, raw
                    if "cloudwatch:PutMetricData" in actions:
                        assert raw["Condition"] == METRIC_CONDITION
                checked += 1
    assert checked >= 40
