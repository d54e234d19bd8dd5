"""Run config cannot redirect a secret-bearing resource to another host: such fields come from the deployment.

The "other host" is a real HTTP listener in this process that records every request; a refused run must
not have sent it anything (no token, no API key).
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import pytest
from dagster import (
    AssetKey,
    ConfigurableResource,
    DagsterInstance,
    Definitions,
    DynamicPartitionsDefinition,
    EnvVar,
    asset,
)

from ecom_pipeline.definitions import defs
from resources.influxdb import InfluxDBResource


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._record()

    def do_POST(self) -> None:  # noqa: N802
        self._record()

    def _record(self) -> None:
        _Recorder.requests.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def other_host() -> Iterator[str]:
    """A host that is not the deployment's: the URL a user would type to catch the secret."""
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _env(name: str) -> dict[str, str]:
    return {"env": name}


# A resource's run config must give every required field (Dagster then drops the values bound in code).
INFLUX = {
    "url": _env("INFLUXDB_URL"),
    "org": _env("INFLUXDB_ORG"),
    "bucket": "test_deployment_only",
    "token": _env("INFLUXDB_TOKEN"),
}
DEPLOYED = {
    "influxdb": {
        "url": _env("INFLUXDB_URL"),
        "org": _env("INFLUXDB_ORG"),
        "bucket": _env("INFLUXDB_BUCKET"),
        "token_secret_name": _env("INFLUXDB_TOKEN_SECRET_NAME"),
    },
    "bronze_source_api": {
        "payments_url": _env("PAYMENTS_API_URL"),
        "shipments_url": _env("SHIPMENTS_API_URL"),
        "api_key_secret_name": _env("API_KEY_SECRET_NAME"),
    },
    "rds": {"secret_name": _env("RDS_SECRET_NAME")},
}


def _errors(result) -> str:
    """Every error message the run's events carry (resource init failures included), with their causes."""
    lines = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            lines.append(error.message)
            error = error.cause
    return "\n".join(lines)


class _PlainResource(ConfigurableResource):
    url: str


def test_dagster_lets_run_config_override_an_envvar_bound_field(monkeypatch) -> None:
    """The premise: without DeploymentOnlyFields, run config replaces a field bound with EnvVar."""
    monkeypatch.setenv("ECOM_TEST_DEPLOYED_URL", "http://deployed.example")
    seen: list[str] = []

    @asset
    def reads_url(plain: _PlainResource) -> None:
        seen.append(plain.url)

    job = Definitions(
        assets=[reads_url], resources={"plain": _PlainResource(url=EnvVar("ECOM_TEST_DEPLOYED_URL"))}
    ).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        run_config={"resources": {"plain": {"config": {"url": "http://elsewhere.example"}}}}
    )
    assert result.success and seen == ["http://elsewhere.example"]


def _influx_job(used: list[str]):
    @asset
    def writes_series(influxdb: InfluxDBResource) -> None:
        used.append(influxdb.url)
        influxdb.check_auth()  # sends the token to the configured URL

    return Definitions(
        assets=[writes_series],
        resources={
            "influxdb": InfluxDBResource(
                url=EnvVar("INFLUXDB_URL"),
                org=EnvVar("INFLUXDB_ORG"),
                bucket="test_deployment_only",
                token=EnvVar("INFLUXDB_TOKEN"),
            )
        },
    ).resolve_implicit_global_asset_job_def()


def test_run_config_redirecting_the_influxdb_url_is_refused(stack_env, other_host: str) -> None:
    used: list[str] = []
    result = _influx_job(used).execute_in_process(
        run_config={"resources": {"influxdb": {"config": {**INFLUX, "url": other_host}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = _errors(result)
    assert "run config may not change InfluxDBResource.url" in message
    assert "environment variable INFLUXDB_URL" in message and 'give url {"env": "INFLUXDB_URL"}' in message
    assert used == [] and _Recorder.requests == []
    assert os.environ["INFLUXDB_TOKEN"] not in message


def test_run_config_repeating_the_deployed_value_is_accepted(stack_env) -> None:
    used: list[str] = []
    result = _influx_job(used).execute_in_process(
        run_config={"resources": {"influxdb": {"config": {**INFLUX, "timeout_ms": 4000}}}}
    )
    assert result.success and used == [os.environ["INFLUXDB_URL"]]


@pytest.mark.parametrize(
    ("job_name", "asset_key", "resource_key", "field", "value"),
    [
        ("energy_series_job", "energy_series", "influxdb", "url", "{host}"),
        ("energy_series_job", "energy_series", "influxdb", "token_secret_name", "ecom-payments-api-key"),
        ("bronze_job", "bronze_payments", "bronze_source_api", "payments_url", "{host}/payments"),
        ("bronze_job", "bronze_shipments", "bronze_source_api", "shipments_url", "{host}/shipments"),
        ("bronze_job", "bronze_payments", "bronze_source_api", "api_key_secret_name", "ecom/influxdb/token"),
        ("metric_imports_job", "imported_metrics", "rds", "secret_name", "ecom/influxdb/token"),
        ("metric_imports_job", "imported_metrics", "rds", "sslmode", "disable"),
    ],
)
def test_the_code_locations_jobs_refuse_redirecting_run_config(
    stack_env, other_host: str, job_name: str, asset_key: str, resource_key: str, field: str, value: str
) -> None:
    """The deployed jobs, as the launchpad would run them with a user's resource config."""
    job = defs.resolve_job_def(job_name)
    instance = DagsterInstance.ephemeral()
    if isinstance(job.partitions_def, DynamicPartitionsDefinition):
        partition_key = "imports/never-uploaded.json"
        instance.add_dynamic_partitions(job.partitions_def.name, [partition_key])
    else:
        partition_key = job.partitions_def.get_last_partition_key()
    result = job.execute_in_process(
        run_config={
            "resources": {
                resource_key: {"config": {**DEPLOYED[resource_key], field: value.format(host=other_host)}}
            }
        },
        asset_selection=[AssetKey(asset_key)],
        partition_key=partition_key,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    text = _errors(result)
    assert f"run config may not change {type(defs.resources[resource_key]).__name__}.{field}" in text
    assert _Recorder.requests == []
    assert not result.get_asset_materialization_events()
