"""The Lambda functions the Lambda executor runs Dagster steps in: one per size class.

Sizes come from `ecom_pipeline.constants.LAMBDA_STEP_SIZES` (the executor picks one from the op tag
`ecom/lambda_size`), so the executor and the infrastructure cannot disagree on names or limits.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from deploy.cdk.container_image import step_function_code
from deploy.cdk.data_stores_stack import DataStoresStack
from deploy.cdk.instance_database_stack import InstanceDatabaseStack
from deploy.cdk.network_stack import NetworkStack
from deploy.cdk.pipeline_access import pipeline_environment, pipeline_statements
from deploy.cdk.settings import DeploymentSettings
from deploy.cdk.step_function_alarms import add_dead_letter_alarm, add_step_function_alarms

LOG_RETENTION = {7: logs.RetentionDays.ONE_WEEK, 30: logs.RetentionDays.ONE_MONTH}
# Lambda needs these to attach the function to the VPC; they have no resource-level scoping ("*").
VPC_NETWORK_INTERFACE_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
# An invocation still queued after this is dropped to the DLQ; the executor has long given up on it.
MAX_EVENT_AGE = Duration.hours(1)


class StepFunctionsStack(Stack):
    """One DockerImageFunction, role, log group and alarm set per size class."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        stores: DataStoresStack,
        database: InstanceDatabaseStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.functions: dict[str, lambda_.DockerImageFunction] = {}
        self.roles: dict[str, iam.Role] = {}
        environment = {
            **pipeline_environment(settings, stores, database.secret),
            # Many short-lived invocations: connect through RDS Proxy, not to the instance.
            "DAGSTER_PG_HOST": database.proxy.endpoint,
            "LOG_LEVEL": "INFO",
            # Import the code location during the init phase, so a warm function starts a step at once.
            "ECOM_LAMBDA_PRELOAD_MODULES": "ecom_pipeline.definitions",
        }
        for size, limits in settings.step_sizes.items():
            name = settings.step_function_name(size)
            log_group = logs.LogGroup(
                self,
                f"{size.title()}LogGroup",
                log_group_name=f"/aws/lambda/{name}",
                retention=LOG_RETENTION[settings.log_retention_days],
                removal_policy=RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY,
            )
            role = self._role(size, name, settings, log_group, stores, database)
            function = lambda_.DockerImageFunction(
                self,
                f"{size.title()}StepFunction",
                function_name=name,
                description=f"Runs one Dagster step ({size}: {limits['memory_mb']} MB, {limits['timeout_s']} s)",
                code=step_function_code(),
                architecture=lambda_.Architecture.X86_64,
                memory_size=limits["memory_mb"],
                timeout=Duration.seconds(limits["timeout_s"]),
                reserved_concurrent_executions=settings.reserved_concurrency[size],
                role=role,
                vpc=network.vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[network.step_functions_sg],
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                environment={**environment, "ECOM_LAMBDA_SIZE": size},
                # AWS must not re-run a step on its own: Dagster's retry policy decides (issue 7).
                retry_attempts=0,
                max_event_age=MAX_EVENT_AGE,
                on_failure=destinations.SqsDestination(stores.lambda_dlq),
            )
            add_step_function_alarms(self, settings, size, function, stores.notifications_topic)
            self.functions[size] = function
            self.roles[size] = role
            CfnOutput(self, f"{size.title()}StepFunctionArn", value=function.function_arn)
            CfnOutput(self, f"{size.title()}StepFunctionName", value=function.function_name)
        add_dead_letter_alarm(self, settings, stores.lambda_dlq, stores.notifications_topic)

    def _role(
        self,
        size: str,
        function_name: str,
        settings: DeploymentSettings,
        log_group: logs.LogGroup,
        stores: DataStoresStack,
        database: InstanceDatabaseStack,
    ) -> iam.Role:
        """Own role per function, no managed policies: every permission is a statement in this stack."""
        role = iam.Role(
            self,
            f"{size.title()}StepFunctionRole",
            role_name=settings.name(f"{function_name.removesuffix('-' + settings.suffix)}-role"),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Least-privilege role of {function_name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces", actions=VPC_NETWORK_INTERFACE_ACTIONS, resources=["*"]
            )
        )
        for statement in pipeline_statements(stores, database.secret):
            role.add_to_policy(statement)
        return role
