"""Deployment settings: what differs between dev and prod, and how resources are named.

Plain data (no CDK imports) so the dev/prod matrix can be read and tested on its own. The environment
suffix follows seed 004 (`lambda-dlq-{environmentSuffix}`): every physical name ends with it, so several
copies (dev, prod, a pull request) live side by side in one account.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ecom_pipeline.constants import LAMBDA_FUNCTION_PREFIX, LAMBDA_STEP_SIZES

ENVIRONMENTS = ("dev", "prod")
_SUFFIX_PATTERN = re.compile(r"^[a-z0-9]{2,12}$")

# Seed 004: "Alert when >5 errors in 10 minutes" (the small, API-like function) and ">3" (the batch one).
ERROR_ALARM_THRESHOLDS = {"small": 5, "large": 3}
ERROR_ALARM_PERIOD_MINUTES = 10
# Seed 001 alarms at 13 of 15 minutes; the same fraction applies to every size class.
DURATION_ALARM_FRACTION_OF_TIMEOUT = 13 / 15
# Seed 004: failed executions are kept 14 days for investigation.
DLQ_RETENTION_DAYS = 14
# Namespaces the pipelines publish custom metrics under (PutMetricData is scoped to these); they are the
# defaults of the domain config resources (tests/deploy/cdk/test_pipeline_access.py keeps them in step).
METRIC_NAMESPACES = ("EcommerceProductOnboarding", "ONS/InfluxDB", "EcomPipeline/MetricImports")
# Object-key prefixes the pipelines write under in buckets they otherwise only read.
UPLOAD_ERROR_REPORTS_PATTERN = "uploads/*/error_reports/*"  # ecom_pipeline.product_uploads.object_keys
IMPORT_QUARANTINE_PATTERN = (
    "quarantine/*"  # resources.metric_imports.config.MetricImportsConfig.quarantine_prefix
)
INSTANCE_DATABASE_NAME = "dagster"
INSTANCE_DATABASE_USER = "dagster"
WEBSERVER_PORT = 3000
# ECOM_STEP_EXECUTOR of every deployed process (ecom_pipeline/definitions.py): the daemon and webserver run
# every job and asset backfill on the Lambda executor, and the step functions load the same code location
# (a run's `execution` config must validate against the executor the function loads).
STEP_EXECUTOR = "lambda"


class SettingsError(ValueError):
    """A deployment parameter is missing or invalid; the message names the CDK context key."""


@dataclass(frozen=True)
class ExternalEndpoints:
    """Services the pipelines call that this app does not create (passed as CDK context)."""

    influxdb_url: str
    payments_api_url: str
    shipments_api_url: str
    influxdb_org: str = "ecom"
    influxdb_bucket: str = "energy"


@dataclass(frozen=True)
class OidcProvider:
    """The identity provider the webserver's load balancer authenticates users with (CDK context `oidc*`)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    user_info_endpoint: str
    client_id: str
    client_secret_name: str  # a Secrets Manager secret (plain string) holding the client secret


@dataclass(frozen=True)
class WebserverAccess:
    """Who reaches the Dagster UI: Dagster has no authentication of its own, so the load balancer listens
    on HTTPS only, admits only `allowed_cidr`, and authenticates every request with the OIDC provider."""

    certificate_arn: str
    allowed_cidr: str
    oidc: OidcProvider


@dataclass(frozen=True)
class DeploymentSettings:
    """Everything the stacks read; build with `settings_for`."""

    environment: str
    suffix: str
    endpoints: ExternalEndpoints
    webserver_access: WebserverAccess
    log_retention_days: int
    retain_data: bool
    reserved_concurrency: dict[str, int]
    instance_db_class: str
    instance_db_multi_az: bool
    instance_db_backup_days: int
    nat_gateways: int
    webserver_cpu: int
    webserver_memory_mb: int
    daemon_cpu: int
    daemon_memory_mb: int
    # Secrets owned by other teams (the e-commerce platform's database); imported by name, never created.
    source_db_secret_name: str = "ecommerce/rds/credentials"
    step_sizes: dict[str, dict[str, int]] = field(default_factory=lambda: dict(LAMBDA_STEP_SIZES))

    def name(self, base: str) -> str:
        """Physical resource name with the environment suffix, e.g. `lambda-dlq-dev`."""
        return f"{base}-{self.suffix}"

    def step_function_name(self, size: str) -> str:
        """Name the Lambda executor derives from the op's size tag (see ecom_pipeline.constants)."""
        return f"{LAMBDA_FUNCTION_PREFIX}-{size}-{self.suffix}"

    def stack_name(self, part: str) -> str:
        return f"EcomPipeline-{part}-{self.suffix}"


def _check_webserver_access(access: WebserverAccess) -> None:
    if not access.certificate_arn.startswith("arn:aws:acm:"):
        raise SettingsError(
            f"context 'webserverCertificateArn' must be an ACM certificate ARN, got {access.certificate_arn!r}"
        )
    try:
        network = ipaddress.ip_network(access.allowed_cidr)
    except ValueError:
        raise SettingsError(
            f"context 'webserverAllowedCidr' must be a CIDR block, got {access.allowed_cidr!r}"
        ) from None
    if network.prefixlen == 0:
        raise SettingsError("context 'webserverAllowedCidr' must not admit every address")
    oidc = access.oidc
    for key, value in (
        ("oidcIssuer", oidc.issuer),
        ("oidcAuthorizationEndpoint", oidc.authorization_endpoint),
        ("oidcTokenEndpoint", oidc.token_endpoint),
        ("oidcUserInfoEndpoint", oidc.user_info_endpoint),
    ):
        if not value.startswith("https://"):
            raise SettingsError(f"context '{key}' must be an https:// URL, got {value!r}")
    for key, value in (("oidcClientId", oidc.client_id), ("oidcClientSecretName", oidc.client_secret_name)):
        if not value:
            raise SettingsError(f"context '{key}' is required")


def settings_for(
    environment: str, suffix: str, endpoints: ExternalEndpoints, webserver_access: WebserverAccess
) -> DeploymentSettings:
    """The dev/prod matrix: dev is cheap and disposable, prod keeps data and survives an AZ loss."""
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"context 'environment' must be one of {ENVIRONMENTS}, got {environment!r}")
    if not _SUFFIX_PATTERN.match(suffix):
        raise SettingsError(
            f"context 'environmentSuffix' must be 2-12 lowercase letters or digits, got {suffix!r}"
        )
    for key, value in (
        ("influxdbUrl", endpoints.influxdb_url),
        ("paymentsApiUrl", endpoints.payments_api_url),
        ("shipmentsApiUrl", endpoints.shipments_api_url),
    ):
        if not value.startswith("https://"):
            raise SettingsError(f"context '{key}' must be an https:// URL, got {value!r}")
    _check_webserver_access(webserver_access)
    prod = environment == "prod"
    return DeploymentSettings(
        environment=environment,
        suffix=suffix,
        endpoints=endpoints,
        webserver_access=webserver_access,
        log_retention_days=30 if prod else 7,
        retain_data=prod,
        # Seed 004 reserves 5 per function; prod lets light steps fan out further. The sum bounds the
        # number of instance-database connections the step functions can open (see deploy/README.md).
        reserved_concurrency={"small": 20, "large": 5} if prod else {"small": 5, "large": 5},
        instance_db_class="t4g.medium" if prod else "t4g.micro",
        instance_db_multi_az=prod,
        instance_db_backup_days=7 if prod else 1,
        nat_gateways=2 if prod else 1,
        webserver_cpu=1024 if prod else 512,
        webserver_memory_mb=2048 if prod else 1024,
        daemon_cpu=2048 if prod else 1024,
        daemon_memory_mb=4096 if prod else 2048,
    )
