"""The container image definition, its build context as CDK stages it, and the dev/prod settings matrix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deploy.cdk.container_image import DOCKERFILE, ORCHESTRATOR_TARGET, REPOSITORY_ROOT, STEP_FUNCTION_TARGET
from deploy.cdk.settings import ExternalEndpoints, OidcProvider, SettingsError, WebserverAccess, settings_for
from deploy.cdk.step_function_alarms import duration_alarm_threshold_ms
from ecom_pipeline.constants import LAMBDA_STEP_HANDLER
from tests.deploy.cdk.conftest import Synthesized

ENDPOINTS = ExternalEndpoints(
    influxdb_url="https://influxdb.example.com:8086",
    payments_api_url="https://api.example.com/payments",
    shipments_api_url="https://api.example.com/shipments",
)
OIDC = OidcProvider(
    issuer="https://login.example.com",
    authorization_endpoint="https://login.example.com/authorize",
    token_endpoint="https://login.example.com/token",
    user_info_endpoint="https://login.example.com/userinfo",
    client_id="dagster-ui",
    client_secret_name="ecom/dagster-ui/oidc-client-secret",
)
ACCESS = WebserverAccess("arn:aws:acm:us-east-1:123456789012:certificate/abc", "10.20.0.0/16", OIDC)
DOCKERFILE_TEXT = (REPOSITORY_ROOT / DOCKERFILE).read_text()


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE_TEXT)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _copy_sources() -> list[str]:
    return [args.split()[0] for op, args in _instructions() if op == "COPY"]


def test_dockerfile_builds_on_the_lambda_python_312_image_and_ends_with_the_step_handler() -> None:
    instructions = _instructions()
    assert ("ARG", "BASE_IMAGE=public.ecr.aws/lambda/python:3.12") in instructions
    stages = [args for op, args in instructions if op == "FROM"]
    assert stages == [
        "${BASE_IMAGE} AS base",
        f"base AS {ORCHESTRATOR_TARGET}",
        f"base AS {STEP_FUNCTION_TARGET}",
    ]
    # The last stage is what a plain `docker build` produces: the Lambda image.
    last_stage = instructions[[i for i, (op, _) in enumerate(instructions) if op == "FROM"][-1] :]
    assert ("COPY", "deploy/lambda/step_handler.py ${LAMBDA_TASK_ROOT}/") in last_stage
    assert last_stage[-1] == ("CMD", json.dumps([LAMBDA_STEP_HANDLER]))
    assert ("COPY", "deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml") in instructions


def test_dockerfile_installs_only_wheels_including_psycopg2_binary() -> None:
    pip_installs = [args for op, args in _instructions() if op == "RUN" and "pip install" in args]
    assert len(pip_installs) == 3
    assert all("--only-binary=:all:" in command for command in pip_installs)
    pyproject = (REPOSITORY_ROOT / "pyproject.toml").read_text()
    assert re.search(r'"psycopg2-binary[>=<]', pyproject), (
        "the image installs psycopg2 from the project's dependencies"
    )


def test_the_image_verifies_postgresql_against_the_rds_ca_bundle() -> None:
    """On AWS every libpq connection is sslmode=verify-full against the bundle built into the base stage, which
    both targets (step functions and orchestrator) inherit."""
    instructions = _instructions()
    base = instructions[: [i for i, (op, _) in enumerate(instructions) if op == "FROM"][1]]
    added = [args.split() for op, args in base if op == "ADD"]
    assert [
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
        "/opt/rds-ca/rds-global-bundle.pem",
    ] in added
    assert any(url.startswith("https://www.amazontrust.com/repository/AmazonRootCA1.pem") for url, _ in added)
    assert any(op == "RUN" and "> /opt/rds-ca/bundle.pem" in args for op, args in base)
    env = " ".join(args for op, args in base if op == "ENV")
    assert "PGSSLMODE=verify-full" in env and "PGSSLROOTCERT=/opt/rds-ca/bundle.pem" in env


def test_every_copied_path_exists() -> None:
    for source in _copy_sources():
        assert (REPOSITORY_ROOT / source).exists(), f"{DOCKERFILE} copies {source}, which does not exist"


def test_cdk_stages_exactly_the_build_context_the_dockerfile_needs(dev: Synthesized) -> None:
    staged = sorted(dev.outdir.glob("asset.*"))
    assert len(staged) == 2, staged  # the step-function and orchestrator targets of the same context
    for context in staged:
        for source in _copy_sources():
            assert (context / source).exists(), (
                f"{source} missing from the staged build context {context.name}"
            )
        assert (context / DOCKERFILE).is_file()
        for excluded in (".venv", ".local", ".git", "tests", "bench", "deploy/cdk", "deploy/local"):
            assert not (context / excluded).exists(), f"{excluded} would be hashed and uploaded"
        assert not list(context.rglob("__pycache__"))
        size = sum(f.stat().st_size for f in context.rglob("*") if f.is_file())
        assert size < 5_000_000, f"build context is {size} bytes"


def test_dev_and_prod_settings() -> None:
    dev = settings_for("dev", "dev", ENDPOINTS, ACCESS)
    prod = settings_for("prod", "prod", ENDPOINTS, ACCESS)
    assert (dev.log_retention_days, prod.log_retention_days) == (7, 30)
    assert (dev.retain_data, prod.retain_data) == (False, True)
    assert dev.reserved_concurrency == {"small": 5, "large": 5}
    assert prod.instance_db_multi_az and not dev.instance_db_multi_az
    assert dev.name("lambda-dlq") == "lambda-dlq-dev"
    assert prod.step_function_name("large") == "ecom-pipeline-step-large-prod"
    assert set(dev.reserved_concurrency) == set(dev.step_sizes)


@pytest.mark.parametrize(
    ("environment", "suffix", "endpoints", "names"),
    [
        ("staging", "dev", ENDPOINTS, "'environment'"),
        ("dev", "Dev_1", ENDPOINTS, "'environmentSuffix'"),
        ("dev", "x", ENDPOINTS, "'environmentSuffix'"),
        ("dev", "dev", ExternalEndpoints("", "https://a/p", "https://a/s"), "'influxdbUrl'"),
        ("dev", "dev", ExternalEndpoints("https://i", "http://a/p", "https://a/s"), "'paymentsApiUrl'"),
    ],
)
def test_bad_parameters_name_the_context_key(
    environment: str, suffix: str, endpoints: ExternalEndpoints, names: str
) -> None:
    with pytest.raises(SettingsError, match=names):
        settings_for(environment, suffix, endpoints, ACCESS)


@pytest.mark.parametrize(
    ("access", "names"),
    [
        (
            WebserverAccess("arn:aws:iam::1:server-certificate/x", "10.0.0.0/8", OIDC),
            "'webserverCertificateArn'",
        ),
        (WebserverAccess(ACCESS.certificate_arn, "0.0.0.0/0", OIDC), "'webserverAllowedCidr'"),
        (WebserverAccess(ACCESS.certificate_arn, "everyone", OIDC), "'webserverAllowedCidr'"),
        (
            WebserverAccess(
                ACCESS.certificate_arn, "10.0.0.0/8", OidcProvider("http://idp", *["https://x"] * 3, "c", "s")
            ),
            "'oidcIssuer'",
        ),
        (
            WebserverAccess(ACCESS.certificate_arn, "10.0.0.0/8", OidcProvider(*["https://x"] * 4, "c", "")),
            "'oidcClientSecretName'",
        ),
    ],
)
def test_the_ui_is_never_deployed_open(access: WebserverAccess, names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        settings_for("dev", "dev", ENDPOINTS, access)


def test_duration_threshold_is_13_of_15_minutes_of_the_timeout() -> None:
    assert duration_alarm_threshold_ms(900) == 13 * 60 * 1000
    assert duration_alarm_threshold_ms(300) == 260_000


def test_cdk_json_runs_the_app_and_turns_template_warnings_into_errors() -> None:
    cdk_json = json.loads((Path(REPOSITORY_ROOT) / "deploy" / "cdk" / "cdk.json").read_text())
    assert cdk_json["app"] == "python3 app.py"
    assert cdk_json["context"]["@aws-cdk/core:validateAgainstDefaultRules"] is True


def test_the_image_copies_every_package_the_project_installs() -> None:
    import tomllib

    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {source.split("/")[0] for source in _copy_sources()}
    assert packages <= copied, f"pyproject installs {packages - copied}, which the Dockerfile does not copy"
