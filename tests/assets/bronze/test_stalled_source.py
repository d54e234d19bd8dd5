"""A bronze step whose source database stops answering mid-COPY fails with a message naming the server,
within the resource's bound, and leaves the lake and the checkpoint as they were; a re-run converges."""

import json
import os
from urllib.parse import urlparse

import boto3
from dagster import materialize
from psycopg2 import sql

from assets.bronze.assets import build_bronze_asset
from resources.rds import RdsPostgresResource
from resources.secrets import SecretsManagerResource
from tests.assets.bronze.sandbox import materialization_metadata, step_errors
from tests.resources.stalling_proxy import StallingProxy

ROWS = 200_000  # about 40 MB of COPY text: the proxy stalls long before the end


def _source_secret(port: int) -> str:
    url = urlparse(os.environ["ECOM_SOURCE_DSN"])
    creds = {
        "username": url.username,
        "password": url.password,
        "host": "127.0.0.1",
        "port": port,
        "dbname": url.path.lstrip("/"),
    }
    name = f"test/stalled-source-{port}"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(creds))
    return name


def test_source_that_stops_answering_mid_copy_fails_the_step_and_changes_nothing(bronze_sandbox) -> None:
    sandbox = bronze_sandbox
    sandbox.execute(
        sql.SQL(
            "CREATE TABLE {} AS SELECT g::bigint AS id, repeat('x', 200) AS note,"
            " timestamptz '2026-06-10 01:00:00+00' AS created_at,"
            " timestamptz '2026-06-10 01:00:00+00' + g * interval '1 ms' AS updated_at"
            " FROM generate_series(1, %s) g"
        ).format(sandbox.table("events")),
        (ROWS,),
    )
    sandbox.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(sandbox.table("events")))
    entity = sandbox.entity("events")
    upstream = urlparse(os.environ["ECOM_SOURCE_DSN"])
    # Stall once the COPY is streaming (the catalog queries before it are a few KB).
    stall_at = 4 << 20
    proxy = StallingProxy(upstream.hostname, upstream.port, stall_after_bytes=stall_at)
    secret = _source_secret(proxy.port)
    try:
        resources = sandbox.resources()
        resources["rds"] = RdsPostgresResource(
            secrets=SecretsManagerResource(),
            secret_name=secret,
            statement_timeout_ms=10_000,
            stall_grace_seconds=1,
        )
        asset = build_bronze_asset(entity)

        result = materialize(
            [asset],
            partition_key="2026-06-10",
            resources=resources,
            instance=sandbox.instance,
            raise_on_error=False,
        )
        assert not result.success
        (error,) = step_errors(result).values()
        assert "DatabaseStalledError" in error
        assert f"PostgreSQL at 127.0.0.1:{proxy.port}/" in error and "sent nothing for 11s" in error
        assert proxy.bytes_to_client > stall_at  # it failed mid-COPY
        assert sandbox.keys("data/") == [] and sandbox.checkpoint(entity) is None
    finally:
        proxy.close()
        boto3.client("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)

    rerun = sandbox.run([entity], "2026-06-10")  # straight to the database: converges
    assert rerun.success
    assert materialization_metadata(rerun, entity)["rows"] == ROWS
    assert sandbox.checkpoint(entity) is not None
