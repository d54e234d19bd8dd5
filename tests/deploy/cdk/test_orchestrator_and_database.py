"""Dagster webserver and daemon on ECS Fargate, the instance on RDS PostgreSQL behind RDS Proxy, the network."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from deploy.instance.pools import DEFAULT_POOL_LIMITS, limit_variable
from tests.deploy.cdk.conftest import WEBSERVER_ACCESS, Synthesized
from tests.deploy.cdk.template_refs import logical_name, readable


def _container(synth: Synthesized, family: str) -> dict:
    tasks = synth.templates["Orchestrator"].find_resources(
        "AWS::ECS::TaskDefinition", {"Properties": {"Family": family}}
    )
    assert len(tasks) == 1, family
    (task,) = tasks.values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return {**container, "_task": task["Properties"]}


def test_instance_database_is_encrypted_postgres_in_isolated_subnets(dev: Synthesized) -> None:
    template = dev.templates["InstanceDatabase"]
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "DBInstanceIdentifier": "ecom-dagster-dev",
            "Engine": "postgres",
            "EngineVersion": Match.string_like_regexp(r"^16\."),
            "DBInstanceClass": "db.t4g.micro",
            "DBName": "dagster",
            "MultiAZ": False,
            "StorageEncrypted": True,
            "BackupRetentionPeriod": 1,
            "DeletionProtection": False,
            "PubliclyAccessible": False,
            "StorageType": "gp3",
        },
    )
    (subnet_group,) = template.find_resources("AWS::RDS::DBSubnetGroup").values()
    assert all("databaseSubnet" in readable(s) for s in subnet_group["Properties"]["SubnetIds"])
    # The generated password goes into a URL unquoted: no URL-reserved characters.
    secret = template.find_resources("AWS::SecretsManager::Secret")
    (properties,) = [s["Properties"] for s in secret.values()]
    assert properties["Name"] == "ecom-pipeline/dagster-db-dev"
    excluded = properties["GenerateSecretString"]["ExcludeCharacters"]
    assert set(":/@?#%&+ ") <= set(excluded) and "-" not in excluded and "_" not in excluded


def test_rds_proxy_requires_tls_and_uses_the_instance_secret(dev: Synthesized) -> None:
    template = dev.templates["InstanceDatabase"]
    template.has_resource_properties(
        "AWS::RDS::DBProxy",
        {
            "DBProxyName": "ecom-dagster-dev",
            "EngineFamily": "POSTGRESQL",
            "RequireTLS": True,
            "Auth": [
                Match.object_like(
                    {
                        "AuthScheme": "SECRETS",
                        "SecretArn": {"Ref": Match.string_like_regexp("^InstanceSecretAttachment")},
                    }
                )
            ],
        },
    )
    template.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "ConnectionPoolConfigurationInfo": Match.object_like({"MaxConnectionsPercent": 80}),
            "Tags": Match.absent(),
        },
    )


def test_postgres_is_reachable_only_from_the_step_functions_and_the_orchestrator(dev: Synthesized) -> None:
    sources = set()
    for part in ("InstanceDatabase", "Orchestrator"):
        for rule in dev.templates[part].find_resources("AWS::EC2::SecurityGroupIngress").values():
            properties = rule["Properties"]
            if readable(properties["GroupId"]) != "SecurityGroup.GroupId":  # the database's group
                continue
            # The proxy-to-instance rule names the instance's port attribute (5432).
            assert properties["FromPort"] == properties["ToPort"]
            assert readable(properties["FromPort"]) in (5432, "Instance.Endpoint.Port")
            sources.add(readable(properties["SourceSecurityGroupId"]))
    assert sources == {
        "SecurityGroup.GroupId",  # the proxy, sharing the instance's group
        "StepFunctionsSecurityGroup.GroupId",
        "TasksSecurityGroup.GroupId",
    }


def test_vpc_has_two_azs_and_gateway_endpoints(dev: Synthesized, prod: Synthesized) -> None:
    template = dev.templates["Network"]
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    prod.templates["Network"].resource_count_is("AWS::EC2::NatGateway", 2)
    subnets = {logical_name(i) for i in template.find_resources("AWS::EC2::Subnet")}
    assert subnets == {
        f"Vpc{kind}Subnet{n}Subnet" for kind in ("public", "private", "database") for n in (1, 2)
    }
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    services = sorted(readable(e["Properties"]["ServiceName"]) for e in endpoints.values())
    assert services == ["com.amazonaws.${AWS::Region}.dynamodb", "com.amazonaws.${AWS::Region}.s3"]


def test_daemon_is_a_single_fargate_task_that_never_overlaps(dev: Synthesized) -> None:
    dev.templates["Orchestrator"].has_resource_properties(
        "AWS::ECS::Service",
        {
            "ServiceName": "dagster-daemon-dev",
            "LaunchType": "FARGATE",
            "DesiredCount": 1,
            "DeploymentConfiguration": Match.object_like({"MaximumPercent": 100, "MinimumHealthyPercent": 0}),
            "NetworkConfiguration": {
                "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "DISABLED"})
            },
        },
    )


def test_webserver_is_reached_over_https_by_authenticated_users_from_the_allowed_cidr_only(
    dev: Synthesized,
) -> None:
    template = dev.json("Orchestrator")["Resources"]
    listeners = [
        r["Properties"] for r in template.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    ]
    assert len(listeners) == 1, "one listener: no plain-HTTP listener or redirect"
    (listener,) = listeners
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert listener["Certificates"] == [{"CertificateArn": WEBSERVER_ACCESS["webserverCertificateArn"]}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    authenticate, forward = sorted(listener["DefaultActions"], key=lambda action: action["Order"])
    assert authenticate["Type"] == "authenticate-oidc"
    config = authenticate["AuthenticateOidcConfig"]
    assert config["Issuer"] == WEBSERVER_ACCESS["oidcIssuer"]
    assert config["ClientId"] == WEBSERVER_ACCESS["oidcClientId"]
    assert WEBSERVER_ACCESS["oidcClientSecretName"] in json.dumps(config["ClientSecret"])
    assert forward["Type"] == "forward"
    balancer_groups = [
        r["Properties"]
        for r in template.values()
        if r["Type"] == "AWS::EC2::SecurityGroup"
        and r["Properties"].get("GroupName") == "dagster-webserver-lb-dev"
    ]
    (group,) = balancer_groups
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": WEBSERVER_ACCESS["webserverAllowedCidr"],
            "Description": "users of the Dagster UI",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_webserver_sits_behind_an_internal_load_balancer(dev: Synthesized) -> None:
    template = dev.templates["Orchestrator"]
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"ServiceName": "dagster-webserver-dev", "LaunchType": "FARGATE", "DesiredCount": 1},
    )
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"})
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Port": 80, "HealthCheckPath": "/server_info", "Matcher": {"HttpCode": "200"}, "TargetType": "ip"},
    )
    outputs = dev.json("Orchestrator")["Outputs"]
    assert readable(outputs["WebserverUrl"]["Value"]).startswith("https://")


def test_containers_get_the_instance_secret_name_never_the_password(dev: Synthesized) -> None:
    """deploy/README.md promises the password is not in the process environment: no ECS secret injects it,
    no shell builds a URL from it, and the storage reads the secret itself (InstancePostgresStorage)."""
    for family, program in (
        ("dagster-daemon-dev", ["python", "-m", "deploy.instance.pools", "--then", "dagster-daemon", "run"]),
        ("dagster-webserver-dev", ["dagster-webserver"]),
    ):
        container = _container(dev, family)
        assert "EntryPoint" not in container  # no shell in between
        command = container["Command"]
        assert command[: len(program)] == program and command[-2:] == ["-w", "workspace.yaml"]
        assert not any("PASSWORD" in part or "DAGSTER_PG_URL" in part for part in command)
        assert "Secrets" not in container
        environment = {e["Name"]: readable(e["Value"]) for e in container["Environment"]}
        # Few long-lived connections with LISTEN/NOTIFY: straight to the instance, not through the proxy.
        assert environment["DAGSTER_PG_HOST"] == "Instance.EndpointAddress"  # via a cross-stack export
        assert environment["DAGSTER_PG_SECRET_NAME"] == "InstanceSecretAttachment"
        assert environment["ECOM_ENV"] == "dev"
        assert not {name for name in environment if "PASSWORD" in name or name == "DAGSTER_PG_URL"}
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert container["_task"]["RequiresCompatibilities"] == ["FARGATE"]
    webserver = _container(dev, "dagster-webserver-dev")
    assert webserver["PortMappings"] == [{"ContainerPort": 3000, "Protocol": "tcp"}]
    assert (webserver["_task"]["Cpu"], webserver["_task"]["Memory"]) == ("512", "1024")
    daemon = _container(dev, "dagster-daemon-dev")
    assert (daemon["_task"]["Cpu"], daemon["_task"]["Memory"]) == ("1024", "2048")
    # The daemon sets the instance's pool limits from these before it starts (deploy/instance/pools.py).
    daemon_environment = {e["Name"]: e["Value"] for e in daemon["Environment"]}
    assert {name: daemon_environment[name] for name in map(limit_variable, DEFAULT_POOL_LIMITS)} == {
        limit_variable(pool): str(limit) for pool, limit in DEFAULT_POOL_LIMITS.items()
    }
    assert not any(
        name.startswith("ECOM_POOL_LIMIT_") for name in map(lambda e: e["Name"], webserver["Environment"])
    )


def test_orchestrator_log_groups_follow_the_retention_policy(dev: Synthesized, prod: Synthesized) -> None:
    for synth, suffix, days in ((dev, "dev", 7), (prod, "prod", 30)):
        for service in ("webserver", "daemon"):
            synth.templates["Orchestrator"].has_resource_properties(
                "AWS::Logs::LogGroup",
                {"LogGroupName": f"/ecs/dagster-{service}-{suffix}", "RetentionInDays": days},
            )


def test_prod_database_is_multi_az_protected_and_snapshotted(prod: Synthesized) -> None:
    template = prod.templates["InstanceDatabase"]
    instances = template.find_resources(
        "AWS::RDS::DBInstance",
        {
            "Properties": {
                "DBInstanceClass": "db.t4g.medium",
                "MultiAZ": True,
                "DeletionProtection": True,
                "BackupRetentionPeriod": 7,
            }
        },
    )
    assert len(instances) == 1
    assert next(iter(instances.values()))["DeletionPolicy"] == "Snapshot"


def test_database_outputs(dev: Synthesized) -> None:
    outputs = dev.json("InstanceDatabase")["Outputs"]
    assert readable(outputs["InstanceDatabaseProxyEndpoint"]["Value"]) == "Proxy.Endpoint"
    assert readable(outputs["InstanceDatabaseEndpoint"]["Value"]) == "Instance.Endpoint.Address"
    assert readable(outputs["InstanceDatabaseSecretArn"]["Value"]) == "InstanceSecretAttachment"


def test_daemon_and_webserver_run_every_step_on_lambda(dev: Synthesized, prod: Synthesized) -> None:
    """Both load the code location with ECOM_STEP_EXECUTOR=lambda: sensor runs, schedule runs and UI
    backfills launched by the daemon run each step as a step-function invocation, and the webserver submits
    runs whose job snapshot (executor included) is the one the daemon loads."""
    for synth, suffix in ((dev, "dev"), (prod, "prod")):
        for family in (f"dagster-daemon-{suffix}", f"dagster-webserver-{suffix}"):
            environment = {e["Name"]: e["Value"] for e in _container(synth, family)["Environment"]}
            assert environment.get("ECOM_STEP_EXECUTOR") == "lambda", family
