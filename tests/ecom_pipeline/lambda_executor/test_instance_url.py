import json
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from dagster import DagsterInstance
from dagster._serdes import serialize_value

from ecom_pipeline.lambda_executor.instance_url import (
    DEFAULT_TIMEOUTS,
    HOST_ENV,
    SECRET_ENV,
    URL_ENV,
    InstancePostgresStorage,
    instance_database_url,
    resolve_instance_url,
    with_connection_bounds,
)

DAGSTER_YAML = Path(__file__).parents[3] / "deploy" / "dagster.yaml"

SECRET = {
    "username": "dagster",
    "password": "p@ss/w:rd",
    "host": "db.internal",
    "port": 5432,
    "dbname": "dagster",
}


def test_url_names_the_psycopg2_driver_and_escapes_the_password() -> None:
    assert (
        instance_database_url(SECRET)
        == "postgresql+psycopg2://dagster:p%40ss%2Fw%3Ard@db.internal:5432/dagster"
    )
    assert instance_database_url(SECRET, host="proxy.internal").startswith(
        "postgresql+psycopg2://dagster:p%40ss%2Fw%3Ard@proxy.internal:5432/"
    )


def test_missing_keys_are_named_without_values() -> None:
    with pytest.raises(ValueError, match="lacks keys: password, host$") as info:
        instance_database_url({"username": "someone", "port": 1, "dbname": "d"})
    assert "someone" not in str(info.value)


def test_bounds_are_added_and_the_url_own_parameters_win() -> None:
    url = with_connection_bounds("postgresql+psycopg2://u:p@h:5432/d?keepalives_idle=5", DEFAULT_TIMEOUTS)
    query = parse_qs(urlsplit(url).query)
    assert query["keepalives_idle"] == ["5"] and query["keepalives"] == ["1"]
    assert query["tcp_user_timeout"] == ["60000"] and query["options"] == ["-c statement_timeout=120000"]


def test_the_url_comes_from_the_environment_locally_and_from_the_secret_on_aws() -> None:
    local = resolve_instance_url({URL_ENV: "postgresql+psycopg2://u:p@h:1/d"}, _no_secret, DEFAULT_TIMEOUTS)
    assert local.startswith("postgresql+psycopg2://u:p@h:1/d?")
    reads: list[str] = []
    aws = resolve_instance_url(
        {SECRET_ENV: "arn:secret", HOST_ENV: "proxy.internal"},
        lambda name: reads.append(name) or json.dumps(SECRET),
        DEFAULT_TIMEOUTS,
    )
    assert reads == ["arn:secret"] and "@proxy.internal:5432/dagster?" in aws
    with pytest.raises(ValueError, match=f"needs {URL_ENV} \\(local\\) or {SECRET_ENV} \\(AWS\\)"):
        resolve_instance_url({}, _no_secret, DEFAULT_TIMEOUTS)


def _no_secret(name: str) -> str:
    pytest.fail(f"must not read secret {name}")


def _show(storage: InstancePostgresStorage, setting: str) -> str:
    with storage.run_storage._engine.connect() as conn:  # the engine Dagster's queries use
        return conn.exec_driver_sql(f"SHOW {setting}").scalar()


def test_instance_connections_keep_their_bounds_even_when_dagster_asks_for_none(stack_env) -> None:
    storage = InstancePostgresStorage(DEFAULT_TIMEOUTS)
    assert _show(storage, "statement_timeout") == "2min"
    assert "tcp_user_timeout=60000" in storage.postgres_url and "keepalives=1" in storage.postgres_url
    storage.run_storage.optimize_for_webserver(statement_timeout=0, pool_recycle=60, max_overflow=1)
    assert _show(storage, "statement_timeout") == "2min"  # the Lambda worker passes 0
    storage.run_storage.optimize_for_webserver(statement_timeout=5000, pool_recycle=60, max_overflow=1)
    assert _show(storage, "statement_timeout") == "5s"  # the webserver's own bound is kept


def test_on_aws_the_instance_reads_its_secret_and_the_password_never_enters_the_environment(
    stack_env, monkeypatch, tmp_path
) -> None:
    """The instance is loaded from deploy/dagster.yaml exactly as on AWS: only the secret's name and the host
    in the environment; it works, and no environment variable holds the password afterwards."""
    local = urlsplit(os.environ[URL_ENV])
    secret = {
        "username": local.username,
        "password": local.password,
        "host": "unused.example",
        "port": local.port,
        "dbname": local.path.lstrip("/"),
    }
    client = boto3.client("secretsmanager")
    name = f"test/instance-{uuid.uuid4().hex}"
    client.create_secret(Name=name, SecretString=json.dumps(secret))
    try:
        monkeypatch.delenv(URL_ENV)
        monkeypatch.setenv(SECRET_ENV, name)
        monkeypatch.setenv(HOST_ENV, local.hostname)
        shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
        before = dict(os.environ)
        instance = DagsterInstance.from_config(str(tmp_path))
        assert instance.get_runs_count() >= 0
        # Nothing was added to the environment (the old handler exported DAGSTER_PG_URL), and no variable
        # carries the credentials (the local password is the word "dagster", so look for user:password@).
        assert dict(os.environ) == before and URL_ENV not in os.environ
        assert not [k for k, v in os.environ.items() if f"{local.username}:{local.password}@" in v]
        ref = serialize_value(instance.get_ref())
        # run workers resolve it again themselves: no URL, no credentials, not even the secret's name
        assert (
            f"{local.username}:{local.password}@" not in ref and "postgres_url" not in ref and name not in ref
        )
    finally:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
