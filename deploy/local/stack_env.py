"""Write `<state>/stack.env` (every variable of docs/CONTRACTS.md) and `$DAGSTER_HOME/dagster.yaml`.

`set -a; . .local/stack.env; set +a` points any shell, test or Dagster process at the stack. The file
holds local credentials (DSN password, InfluxDB token), so it is written with mode 0600.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from deploy.local.local_credentials import LocalCredentials
from deploy.local.postgres_server import DAGSTER_DB, DAGSTER_PASSWORD, DAGSTER_ROLE, SOURCE_DB, SOURCE_ROLE
from deploy.local.stack_config import HOST, LOCAL_AWS_KEY, REGION, REPO_ROOT, StackConfig

DAGSTER_YAML_SOURCE = REPO_ROOT / "deploy" / "dagster.yaml"


def stack_variables(
    config: StackConfig, credentials: LocalCredentials, aws_outputs: dict[str, str]
) -> dict[str, str]:
    names = config.names
    pg = f"{HOST}:{config.pg_port}"
    variables = {
        "AWS_ENDPOINT_URL": config.moto_url,
        "AWS_ACCESS_KEY_ID": LOCAL_AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_AWS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "ECOM_ENV": names.env,
        **names.buckets,
        "CHECKPOINT_TABLE": names.checkpoint_table,
        "UPLOAD_RECORDS_TABLE": names.upload_records_table,
        **{key: aws_outputs[key] for key in (*names.queues, "NOTIFICATIONS_TOPIC_ARN")},
        "RDS_SECRET_NAME": names.rds_secret,
        "API_KEY_SECRET_NAME": names.api_key_secret,
        "INFLUXDB_URL": config.influx_url,
        "INFLUXDB_ORG": names.influx_org,
        "INFLUXDB_BUCKET": names.influx_bucket,
        "INFLUXDB_TOKEN_SECRET_NAME": names.influx_token_secret,
        "INFLUXDB_TOKEN": credentials.influx_token,
        "PAYMENTS_API_URL": f"{config.api_url}/payments",
        "SHIPMENTS_API_URL": f"{config.api_url}/shipments",
        "DAGSTER_HOME": str(config.dagster_home),
        "DAGSTER_PG_URL": f"postgresql+psycopg2://{DAGSTER_ROLE}:{DAGSTER_PASSWORD}@{pg}/{DAGSTER_DB}",
        "ECOM_SOURCE_DSN": f"postgresql://{SOURCE_ROLE}:{credentials.ecom_db_password}@{pg}/{SOURCE_DB}",
        "ECOM_STACK_DIR": str(config.state_dir),
        "ECOM_PG_PORT": str(config.pg_port),
        "ECOM_MOTO_PORT": str(config.moto_port),
        "ECOM_INFLUX_PORT": str(config.influx_port),
        "ECOM_INFLUXD_PORT": str(config.influxd_port),
        "ECOM_API_PORT": str(config.api_port),
    }
    return variables


def render_env_file(variables: dict[str, str]) -> str:
    lines = [
        "# Written by `python -m deploy.local.stack up`; source with: set -a; . .local/stack.env; set +a"
    ]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in variables.items()]
    return "\n".join(lines) + "\n"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a stack.env written by `render_env_file` (for tests and tools that cannot source shell)."""
    variables = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            variables[key] = shlex.split(value)[0] if value else ""
    return variables


def write_if_changed(path: Path, content: str, mode: int = 0o644) -> bool:
    """Atomic write; leaves the file (and its mtime) alone when the content is unchanged."""
    if path.exists() and path.read_text() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def write_stack_files(config: StackConfig, variables: dict[str, str]) -> list[Path]:
    """Write stack.env and dagster.yaml; returns the files that changed."""
    changed = []
    if write_if_changed(config.env_file, render_env_file(variables), mode=0o600):
        changed.append(config.env_file)
    dagster_yaml = config.dagster_home / "dagster.yaml"
    if write_if_changed(dagster_yaml, DAGSTER_YAML_SOURCE.read_text()):
        changed.append(dagster_yaml)
    return changed
