"""The whole deployment of one environment: five stacks wired together in dependency order."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags

from deploy.cdk.data_stores_stack import DataStoresStack
from deploy.cdk.instance_database_stack import InstanceDatabaseStack
from deploy.cdk.network_stack import NetworkStack
from deploy.cdk.orchestrator_stack import OrchestratorStack
from deploy.cdk.settings import DeploymentSettings
from deploy.cdk.step_functions_stack import StepFunctionsStack


@dataclass(frozen=True)
class Deployment:
    network: NetworkStack
    data_stores: DataStoresStack
    instance_database: InstanceDatabaseStack
    step_functions: StepFunctionsStack
    orchestrator: OrchestratorStack


def build_deployment(app: App, settings: DeploymentSettings, env: Environment | None = None) -> Deployment:
    """Network -> data stores -> instance database -> step functions -> orchestrator."""
    common = {"env": env}
    network = NetworkStack(app, settings.stack_name("Network"), settings=settings, **common)
    data_stores = DataStoresStack(app, settings.stack_name("DataStores"), settings=settings, **common)
    database = InstanceDatabaseStack(
        app, settings.stack_name("InstanceDatabase"), settings=settings, network=network, **common
    )
    step_functions = StepFunctionsStack(
        app,
        settings.stack_name("StepFunctions"),
        settings=settings,
        network=network,
        stores=data_stores,
        database=database,
        **common,
    )
    orchestrator = OrchestratorStack(
        app,
        settings.stack_name("Orchestrator"),
        settings=settings,
        network=network,
        stores=data_stores,
        database=database,
        step_functions=step_functions,
        **common,
    )
    for stack in (network, data_stores, database, step_functions, orchestrator):
        for key, value in (
            ("project", "ecom-pipeline"),
            ("environment", settings.environment),
            ("environment-suffix", settings.suffix),
        ):
            # CDK thinks proxy target groups are taggable; CloudFormation rejects the property.
            Tags.of(stack).add(key, value, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])
    return Deployment(network, data_stores, database, step_functions, orchestrator)
