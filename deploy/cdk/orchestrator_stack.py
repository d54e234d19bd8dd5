"""The Dagster webserver and daemon as ECS Fargate services, with the instance on RDS PostgreSQL.

The daemon runs schedules and sensors and launches queued runs (and backfills) in its own task. Both services
load the code location with ECOM_STEP_EXECUTOR=lambda (pipeline_environment), so every run's steps are invocations of the step
functions, made from the daemon's task: its role holds the pipeline permissions (sensors, schedules) plus
InvokeFunction. The webserver needs the same value so the runs it submits carry the same job snapshot. The webserver only serves the UI and
reads compute logs. Dagster has no authentication of its own, so its internal load balancer listens on HTTPS
only, admits only the configured CIDR, and authenticates every request with the OIDC provider before
forwarding it (`WebserverAccess` in settings.py).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from deploy.cdk.container_image import orchestrator_image
from deploy.cdk.data_stores_stack import DataStoresStack
from deploy.cdk.instance_database_stack import InstanceDatabaseStack
from deploy.cdk.network_stack import POSTGRES_PORT, NetworkStack
from deploy.cdk.pipeline_access import pipeline_environment, pipeline_statements
from deploy.cdk.settings import WEBSERVER_PORT, DeploymentSettings, WebserverAccess
from deploy.cdk.step_functions_stack import LOG_RETENTION, StepFunctionsStack
from deploy.instance.pools import DEFAULT_POOL_LIMITS, limit_variable

# The containers get the instance database's secret ARN (DAGSTER_PG_SECRET_NAME, from pipeline_environment)
# and host, never the password: the storage in deploy/dagster.yaml (InstancePostgresStorage) reads the secret
# with the task role when the instance loads, so neither the task definition, a shell nor the process
# environment holds it.
WEBSERVER_COMMAND = f"dagster-webserver -h 0.0.0.0 -p {WEBSERVER_PORT} -w workspace.yaml"
# The daemon task first sets each concurrency pool's limit from its ECOM_POOL_LIMIT_<POOL> variable
# (deploy/instance/pools.py, the code `make stack-up` runs locally), then execs the daemon (no shell).
DAEMON_COMMAND = "python -m deploy.instance.pools --then dagster-daemon run -w workspace.yaml"


class OrchestratorStack(Stack):
    """ECS cluster with two services: `dagster-webserver` (load balanced) and `dagster-daemon` (one task)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack,
        stores: DataStoresStack,
        database: InstanceDatabaseStack,
        step_functions: StepFunctionsStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._settings = settings
        self._stores = stores
        self._database = database
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=settings.name("ecom-pipeline"),
            vpc=network.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self._image = orchestrator_image()
        self.tasks_sg = ec2.SecurityGroup(
            self,
            "TasksSecurityGroup",
            vpc=network.vpc,
            security_group_name=settings.name("ecom-orchestrator"),
            description="Dagster webserver and daemon tasks",
            allow_all_outbound=True,
        )
        # The rule belongs to this stack: the database stack is deployed before these tasks exist.
        database_sg = ec2.SecurityGroup.from_security_group_id(
            self, "InstanceDatabaseSecurityGroup", database.security_group.security_group_id, mutable=True
        )
        database_sg.add_ingress_rule(self.tasks_sg, ec2.Port.tcp(POSTGRES_PORT), "orchestrator to PostgreSQL")
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        self.webserver_role = self._task_role("Webserver", "dagster-webserver")
        self._add_statements(
            self.webserver_role,
            [
                *self._read_logs_statements(),
                # The instance storage reads the database credentials itself (deploy/dagster.yaml).
                iam.PolicyStatement(
                    sid="ReadInstanceDatabaseSecret",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[database.secret.secret_arn],
                ),
            ],
        )
        webserver_task = self._task_definition(
            "Webserver",
            self.webserver_role,
            WEBSERVER_COMMAND,
            settings.webserver_cpu,
            settings.webserver_memory_mb,
        )
        access = settings.webserver_access
        self.webserver_lb_sg = ec2.SecurityGroup(
            self,
            "WebserverLoadBalancerSecurityGroup",
            vpc=network.vpc,
            security_group_name=settings.name("dagster-webserver-lb"),
            description="Dagster UI load balancer: HTTPS from the allowed CIDR only",
            allow_all_outbound=False,
        )
        self.webserver_lb_sg.add_ingress_rule(
            ec2.Peer.ipv4(access.allowed_cidr), ec2.Port.tcp(443), "users of the Dagster UI"
        )
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "WebserverLoadBalancer",
            vpc=network.vpc,
            internet_facing=False,
            security_group=self.webserver_lb_sg,
            vpc_subnets=private,
        )
        self.webserver = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Webserver",
            service_name=settings.name("dagster-webserver"),
            cluster=self.cluster,
            task_definition=webserver_task,
            desired_count=1,
            load_balancer=load_balancer,
            public_load_balancer=False,
            open_listener=False,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            listener_port=443,
            certificate=acm.Certificate.from_certificate_arn(
                self, "WebserverCertificate", access.certificate_arn
            ),
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            redirect_http=False,
            target_protocol=elbv2.ApplicationProtocol.HTTP,
            task_subnets=private,
            security_groups=[self.tasks_sg],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=0,
        )
        self.webserver.target_group.configure_health_check(path="/server_info", healthy_http_codes="200")
        self._authenticate_users(access)

        self.daemon_role = self._task_role("Daemon", "dagster-daemon")
        statements = [
            *pipeline_statements(stores, database.secret),
            iam.PolicyStatement(
                sid="InvokeStepFunctions",
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                resources=[function.function_arn for function in step_functions.functions.values()],
            ),
        ]
        self._add_statements(self.daemon_role, statements)
        daemon_task = self._task_definition(
            "Daemon", self.daemon_role, DAEMON_COMMAND, settings.daemon_cpu, settings.daemon_memory_mb
        )
        # Exactly one daemon: two would run every schedule twice. Stop the old one before starting the new.
        self.daemon = ecs.FargateService(
            self,
            "Daemon",
            service_name=settings.name("dagster-daemon"),
            cluster=self.cluster,
            task_definition=daemon_task,
            desired_count=1,
            min_healthy_percent=0,
            max_healthy_percent=100,
            vpc_subnets=private,
            security_groups=[self.tasks_sg],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        CfnOutput(
            self, "WebserverUrl", value=f"https://{self.webserver.load_balancer.load_balancer_dns_name}"
        )
        CfnOutput(self, "ClusterArn", value=self.cluster.cluster_arn)
        CfnOutput(self, "DaemonServiceArn", value=self.daemon.service_arn)
        CfnOutput(self, "WebserverServiceArn", value=self.webserver.service.service_arn)

    def _authenticate_users(self, access: WebserverAccess) -> None:
        """Replace the listener's plain forward with: authenticate with the OIDC provider, then forward."""
        oidc = access.oidc
        client_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "OidcClientSecret", oidc.client_secret_name
        )
        self.webserver.listener.add_action(
            "AuthenticateThenForward",
            action=elbv2.ListenerAction.authenticate_oidc(
                issuer=oidc.issuer,
                authorization_endpoint=oidc.authorization_endpoint,
                token_endpoint=oidc.token_endpoint,
                user_info_endpoint=oidc.user_info_endpoint,
                client_id=oidc.client_id,
                client_secret=client_secret.secret_value,
                next=elbv2.ListenerAction.forward([self.webserver.target_group]),
            ),
        )

    def _task_role(self, construct_id: str, base: str) -> iam.Role:
        return iam.Role(
            self,
            f"{construct_id}TaskRole",
            role_name=self._settings.name(f"{base}-task"),
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"Task role of {self._settings.name(base)}",
        )

    @staticmethod
    def _add_statements(role: iam.Role, statements: list[iam.PolicyStatement]) -> None:
        for statement in statements:
            role.add_to_policy(statement)

    def _read_logs_statements(self) -> list[iam.PolicyStatement]:
        """The UI shows compute logs (stdout/stderr of steps) from the logs bucket."""
        logs_bucket = self._stores.logs_bucket
        return [
            iam.PolicyStatement(
                sid="ListComputeLogs", actions=["s3:ListBucket"], resources=[logs_bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="ReadComputeLogs", actions=["s3:GetObject"], resources=[logs_bucket.arn_for_objects("*")]
            ),
        ]

    def _task_definition(
        self, construct_id: str, task_role: iam.Role, command: str, cpu: int, memory_mb: int
    ) -> ecs.FargateTaskDefinition:
        settings, database = self._settings, self._database
        task = ecs.FargateTaskDefinition(
            self,
            f"{construct_id}TaskDefinition",
            family=settings.name(f"dagster-{construct_id.lower()}"),
            cpu=cpu,
            memory_limit_mib=memory_mb,
            task_role=task_role,
        )
        log_group = logs.LogGroup(
            self,
            f"{construct_id}LogGroup",
            log_group_name=f"/ecs/{settings.name(f'dagster-{construct_id.lower()}')}",
            retention=LOG_RETENTION[settings.log_retention_days],
            removal_policy=RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY,
        )
        container = task.add_container(
            construct_id,
            container_name=f"dagster-{construct_id.lower()}",
            image=self._image,
            command=command.split(),
            environment={
                **pipeline_environment(settings, self._stores, database.secret),
                # Few, long-lived connections using LISTEN/NOTIFY: straight to the instance, not the proxy.
                "DAGSTER_PG_HOST": database.instance.db_instance_endpoint_address,
                **(
                    {limit_variable(p): str(n) for p, n in DEFAULT_POOL_LIMITS.items()}
                    if construct_id == "Daemon"
                    else {}
                ),
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix=construct_id.lower(), log_group=log_group),
            stop_timeout=Duration.seconds(60),
        )
        if construct_id == "Webserver":
            container.add_port_mappings(ecs.PortMapping(container_port=WEBSERVER_PORT))
        return task
