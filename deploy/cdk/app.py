"""CDK entry point: `cdk synth|deploy -c environment=dev -c environmentSuffix=dev -c influxdbUrl=... ...`.

Context keys (or the environment variables in brackets, as in seed 004): environment [ENVIRONMENT],
environmentSuffix [ENVIRONMENT_SUFFIX], influxdbUrl, paymentsApiUrl, shipmentsApiUrl, influxdbOrg,
influxdbBucket; the webserver's access: webserverCertificateArn, webserverAllowedCidr, oidcIssuer,
oidcAuthorizationEndpoint, oidcTokenEndpoint, oidcUserInfoEndpoint, oidcClientId, oidcClientSecretName.
Account and region come from the CLI's credentials (CDK_DEFAULT_ACCOUNT/REGION).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# `cdk` runs this file from deploy/cdk; make the repository importable without an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aws_cdk import App, Environment  # noqa: E402

from deploy.cdk.deployment import Deployment, build_deployment  # noqa: E402
from deploy.cdk.settings import ExternalEndpoints, OidcProvider, WebserverAccess, settings_for  # noqa: E402


def _context(app: App, key: str, env_var: str | None = None, default: str | None = None) -> str:
    value = app.node.try_get_context(key) or (os.environ.get(env_var) if env_var else None) or default
    return str(value) if value is not None else ""


def build_app(app: App) -> Deployment:
    """Read the settings from context and add the stacks to `app`."""
    endpoints = ExternalEndpoints(
        influxdb_url=_context(app, "influxdbUrl"),
        payments_api_url=_context(app, "paymentsApiUrl"),
        shipments_api_url=_context(app, "shipmentsApiUrl"),
        influxdb_org=_context(app, "influxdbOrg", default="ecom"),
        influxdb_bucket=_context(app, "influxdbBucket", default="energy"),
    )
    environment = _context(app, "environment", "ENVIRONMENT", "dev")
    suffix = _context(app, "environmentSuffix", "ENVIRONMENT_SUFFIX", environment)
    access = WebserverAccess(
        certificate_arn=_context(app, "webserverCertificateArn"),
        allowed_cidr=_context(app, "webserverAllowedCidr"),
        oidc=OidcProvider(
            issuer=_context(app, "oidcIssuer"),
            authorization_endpoint=_context(app, "oidcAuthorizationEndpoint"),
            token_endpoint=_context(app, "oidcTokenEndpoint"),
            user_info_endpoint=_context(app, "oidcUserInfoEndpoint"),
            client_id=_context(app, "oidcClientId"),
            client_secret_name=_context(app, "oidcClientSecretName"),
        ),
    )
    settings = settings_for(environment, suffix, endpoints, access)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    return build_deployment(app, settings, env)


def cdk_json_context() -> dict:
    """cdk.json's context (feature flags), for runs without the CLI (`python app.py`); the CLI's wins."""
    return json.loads((Path(__file__).with_name("cdk.json")).read_text())["context"]


def main() -> None:
    app = App(context=cdk_json_context())
    build_app(app)
    app.synth()


if __name__ == "__main__":
    main()
