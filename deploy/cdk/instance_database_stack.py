"""The Dagster instance database (runs, event logs, schedules) on RDS PostgreSQL, fronted by RDS Proxy.

Step functions connect through the proxy: hundreds of short Lambda invocations would otherwise each open
their own connections and exhaust `max_connections` of a small instance. The webserver and daemon are few
and long-lived and use LISTEN/NOTIFY (which would pin proxy connections), so they connect directly.
"""

from __future__ import annotations

import string

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from deploy.cdk.network_stack import POSTGRES_PORT, NetworkStack
from deploy.cdk.settings import INSTANCE_DATABASE_NAME, INSTANCE_DATABASE_USER, DeploymentSettings

# The password goes into DAGSTER_PG_URL unquoted: keep only URL-unreserved characters.
_URL_UNSAFE_CHARACTERS = "".join(c for c in string.punctuation if c not in "-_") + " "


class InstanceDatabaseStack(Stack):
    """RDS PostgreSQL instance + RDS Proxy; credentials generated into Secrets Manager."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            security_group_name=settings.name("ecom-instance-database"),
            description="Dagster instance database and its RDS Proxy",
            # RDS Proxy fetches its secret from Secrets Manager through the NAT.
            allow_all_outbound=True,
        )
        # The proxy and the instance share the group: the proxy reaches the instance through it.
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(POSTGRES_PORT), "RDS Proxy to the instance"
        )
        # The orchestrator's tasks get their rule in orchestrator_stack.py (it is created after this stack).
        self.security_group.add_ingress_rule(
            network.step_functions_sg, ec2.Port.tcp(POSTGRES_PORT), "step functions to RDS Proxy"
        )
        credentials = rds.Credentials.from_generated_secret(
            INSTANCE_DATABASE_USER,
            secret_name=settings.name("ecom-pipeline/dagster-db"),
            exclude_characters=_URL_UNSAFE_CHARACTERS,
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=settings.name("ecom-dagster"),
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_16_4),
            instance_type=ec2.InstanceType(settings.instance_db_class),
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.security_group],
            database_name=INSTANCE_DATABASE_NAME,
            credentials=credentials,
            multi_az=settings.instance_db_multi_az,
            allocated_storage=20,
            max_allocated_storage=100,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            backup_retention=Duration.days(settings.instance_db_backup_days),
            deletion_protection=settings.retain_data,
            removal_policy=RemovalPolicy.SNAPSHOT if settings.retain_data else RemovalPolicy.DESTROY,
        )
        assert self.instance.secret is not None  # generated above
        self.secret = self.instance.secret
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            db_proxy_name=settings.name("ecom-dagster"),
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            secrets=[self.secret],
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            require_tls=True,
            # Leave headroom for the webserver, the daemon and an operator's psql session.
            max_connections_percent=80,
            idle_client_timeout=Duration.minutes(15),
        )
        CfnOutput(self, "InstanceDatabaseEndpoint", value=self.instance.db_instance_endpoint_address)
        CfnOutput(self, "InstanceDatabaseProxyEndpoint", value=self.proxy.endpoint)
        CfnOutput(self, "InstanceDatabaseSecretArn", value=self.secret.secret_arn)
