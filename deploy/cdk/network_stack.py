"""VPC and the step functions' security group.

Other groups live with what they protect (the database's in instance_database_stack.py, the ECS tasks'
in orchestrator_stack.py): CDK adds rules to them that reference resources of those stacks, which here
would make this stack depend on its consumers.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from deploy.cdk.settings import DeploymentSettings

POSTGRES_PORT = 5432


class NetworkStack(Stack):
    """Two-AZ VPC: public subnets for NAT and the load balancer, private ones for everything that runs code."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=settings.name("ecom-pipeline"),
            max_azs=2,
            nat_gateways=settings.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        # S3 and DynamoDB carry the bulk of the data; gateway endpoints keep that traffic off the NAT.
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.vpc.add_gateway_endpoint("DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)

        self.step_functions_sg = self._security_group("StepFunctions", settings, "Lambda step functions")

    def _security_group(
        self, construct_id: str, settings: DeploymentSettings, description: str
    ) -> ec2.SecurityGroup:
        return ec2.SecurityGroup(
            self,
            f"{construct_id}SecurityGroup",
            vpc=self.vpc,
            security_group_name=settings.name(f"ecom-{construct_id.lower()}"),
            description=description,
            allow_all_outbound=True,
        )
