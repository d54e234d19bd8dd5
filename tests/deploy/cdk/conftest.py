"""Synthesise the CDK app once per environment per session (synth takes seconds; assertions are cheap)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from deploy.cdk.app import build_app  # noqa: E402
from deploy.cdk.deployment import Deployment  # noqa: E402

CDK_JSON = Path(__file__).resolve().parents[3] / "deploy" / "cdk" / "cdk.json"
ENDPOINTS = {
    "influxdbUrl": "https://influxdb.example.com:8086",
    "paymentsApiUrl": "https://api.example.com/payments",
    "shipmentsApiUrl": "https://api.example.com/shipments",
}
WEBSERVER_ACCESS = {
    "webserverCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f3c9a52-1111-2222-3333-444455556666",
    "webserverAllowedCidr": "10.20.0.0/16",
    "oidcIssuer": "https://login.example.com",
    "oidcAuthorizationEndpoint": "https://login.example.com/authorize",
    "oidcTokenEndpoint": "https://login.example.com/token",
    "oidcUserInfoEndpoint": "https://login.example.com/userinfo",
    "oidcClientId": "dagster-ui",
    "oidcClientSecretName": "ecom/dagster-ui/oidc-client-secret",
}
STACK_PARTS = ("Network", "DataStores", "InstanceDatabase", "StepFunctions", "Orchestrator")


@dataclass(frozen=True)
class Synthesized:
    deployment: Deployment
    templates: dict[str, Template]  # by stack part, e.g. "StepFunctions"
    outdir: Path  # the cloud assembly, with the staged Docker build contexts

    def json(self, part: str) -> dict:
        return self.templates[part].to_json()


def synthesize(environment: str, suffix: str, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The same context `cdk synth` would see (cdk.json), plus the required endpoints."""
    context = {**json.loads(CDK_JSON.read_text())["context"], **ENDPOINTS, **WEBSERVER_ACCESS}
    context.update(environment=environment, environmentSuffix=suffix)
    outdir = tmp_path_factory.mktemp(f"cdk-{environment}")
    app = App(context=context, outdir=str(outdir))
    deployment = build_app(app)
    stacks = {
        "Network": deployment.network,
        "DataStores": deployment.data_stores,
        "InstanceDatabase": deployment.instance_database,
        "StepFunctions": deployment.step_functions,
        "Orchestrator": deployment.orchestrator,
    }
    # Template.from_stack synthesises the whole app; validation rules (cdk.json) raise on template errors.
    templates = {part: Template.from_stack(stack) for part, stack in stacks.items()}
    return Synthesized(deployment, templates, outdir)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("dev", "dev", tmp_path_factory)


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("prod", "prod", tmp_path_factory)
