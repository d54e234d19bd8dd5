"""The Dagster instance URL inside a step function.

Lambda cannot inject a secret into an environment variable (ECS can), so on AWS the function gets the
instance database's secret name (DAGSTER_PG_SECRET_NAME) and the RDS Proxy endpoint (DAGSTER_PG_HOST), and
builds DAGSTER_PG_URL, which deploy/dagster.yaml reads, before the instance is loaded. Locally DAGSTER_PG_URL
is set directly and nothing happens here.
"""

import json
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

URL_ENV = "DAGSTER_PG_URL"
SECRET_ENV = "DAGSTER_PG_SECRET_NAME"
HOST_ENV = "DAGSTER_PG_HOST"


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


def ensure_instance_database_url(read_secret: Callable[[str], str]) -> bool:
    """Set DAGSTER_PG_URL from the secret when only the secret is configured; True when it was set here."""
    if os.environ.get(URL_ENV) or not os.environ.get(SECRET_ENV):
        return False
    secret = json.loads(read_secret(os.environ[SECRET_ENV]))
    os.environ[URL_ENV] = instance_database_url(secret, os.environ.get(HOST_ENV))
    return True
