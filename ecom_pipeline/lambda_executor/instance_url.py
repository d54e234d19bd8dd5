"""The Dagster instance's PostgreSQL storage, with the password kept out of the process environment.

deploy/dagster.yaml names `InstancePostgresStorage` as a custom storage. Locally it uses DAGSTER_PG_URL (the
stack's throwaway password). On AWS, Lambda and ECS tasks get only the instance database's secret name
(DAGSTER_PG_SECRET_NAME) and host (DAGSTER_PG_HOST: the RDS Proxy for functions, the instance for ECS); the
storage reads the secret itself when the instance is loaded and builds the URL in memory, so no
environment variable, task definition or shell command ever holds the password.

Every connection bounds its calls: `statement_timeout`, TCP keepalives and `tcp_user_timeout` ride in the
URL's libpq parameters. TLS comes from libpq's PGSSLMODE / PGSSLROOTCERT, which the AWS image sets to
verify-full with the RDS CA bundle (deploy/lambda/Dockerfile); locally they are unset (libpq's prefer).
"""

import json
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from dagster import Field, IntSource
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage

URL_ENV = "DAGSTER_PG_URL"
SECRET_ENV = "DAGSTER_PG_SECRET_NAME"
HOST_ENV = "DAGSTER_PG_HOST"

DEFAULT_TIMEOUTS: dict[str, int] = {
    "statement_timeout_ms": 120_000,
    "keepalives_idle_seconds": 30,
    "keepalives_interval_seconds": 10,
    "keepalives_count": 3,
    "tcp_user_timeout_ms": 60_000,
}


def instance_database_url(secret: Mapping[str, Any], host: str | None = None) -> str:
    """`postgresql+psycopg2://` (SQLAlchemy 2.1 would pick psycopg 3 for a bare `postgresql://`)."""
    missing = [k for k in ("username", "password", "port", "dbname") if not secret.get(k)]
    if not (host or secret.get("host")):
        missing.append("host")
    if missing:
        raise ValueError(f"instance database secret lacks keys: {', '.join(missing)}")
    return (
        f"postgresql+psycopg2://{quote(str(secret['username']), safe='')}:{quote(str(secret['password']), safe='')}"
        f"@{host or secret['host']}:{int(secret['port'])}/{quote(str(secret['dbname']), safe='')}"
    )


def with_connection_bounds(url: str, timeouts: Mapping[str, int]) -> str:
    """The URL with keepalives, tcp_user_timeout and statement_timeout as libpq parameters; parameters the
    URL already sets win, so an operator can override one without editing code."""
    bounds = {
        "keepalives": "1",
        "keepalives_idle": str(timeouts["keepalives_idle_seconds"]),
        "keepalives_interval": str(timeouts["keepalives_interval_seconds"]),
        "keepalives_count": str(timeouts["keepalives_count"]),
        "tcp_user_timeout": str(timeouts["tcp_user_timeout_ms"]),
        "options": f"-c statement_timeout={int(timeouts['statement_timeout_ms'])}",
    }
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode({**bounds, **query})))


def resolve_instance_url(
    environ: Mapping[str, str], read_secret: Callable[[str], str], timeouts: Mapping[str, int]
) -> str:
    """DAGSTER_PG_URL when set (local), else the URL built in memory from the secret (AWS)."""
    if environ.get(URL_ENV):
        return with_connection_bounds(environ[URL_ENV], timeouts)
    if not environ.get(SECRET_ENV):
        raise ValueError(f"the Dagster instance database needs {URL_ENV} (local) or {SECRET_ENV} (AWS)")
    secret = json.loads(read_secret(environ[SECRET_ENV]))
    return with_connection_bounds(instance_database_url(secret, environ.get(HOST_ENV)), timeouts)


def _read_secret(name: str) -> str:
    import boto3
    from botocore.config import Config

    client = boto3.client("secretsmanager", config=Config(connect_timeout=5, read_timeout=30))
    return client.get_secret_value(SecretId=name)["SecretString"]


class InstancePostgresStorage(DagsterPostgresStorage):
    """dagster-postgres storage whose URL never passes through the environment (see the module docstring).

    The instance ref that Dagster hands to run workers and step functions carries only this config (names
    and numbers); each process resolves the URL again.
    """

    def __init__(
        self, timeouts: Mapping[str, int], should_autocreate_tables: bool = True, inst_data: Any = None
    ) -> None:
        self._timeouts = dict(timeouts)
        super().__init__(
            postgres_url=resolve_instance_url(os.environ, _read_secret, self._timeouts),
            should_autocreate_tables=should_autocreate_tables,
            inst_data=inst_data,
        )
        for storage in (self.run_storage, self.event_log_storage, self.schedule_storage):
            storage.optimize_for_webserver = _keeping_bound(  # type: ignore[method-assign]
                storage.optimize_for_webserver, self._timeouts["statement_timeout_ms"]
            )

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        fields = {
            name: Field(IntSource, is_required=False, default_value=v) for name, v in DEFAULT_TIMEOUTS.items()
        }
        fields["should_autocreate_tables"] = Field(bool, is_required=False, default_value=True)
        return fields

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "InstancePostgresStorage":
        timeouts = {name: int(config_value.get(name, default)) for name, default in DEFAULT_TIMEOUTS.items()}
        return cls(timeouts, config_value.get("should_autocreate_tables", True), inst_data)


def _keeping_bound(
    optimize: Callable[[int, int, int], None], bound_ms: int
) -> Callable[[int, int, int], None]:
    """`optimize_for_webserver` re-creates the engine and SETs the statement_timeout it is given on every
    connection; the Lambda worker passes 0 (none), which would drop the configured bound, so 0 means it."""

    def bounded(statement_timeout: int, pool_recycle: int, max_overflow: int) -> None:
        optimize(statement_timeout or bound_ms, pool_recycle, max_overflow)

    return bounded
