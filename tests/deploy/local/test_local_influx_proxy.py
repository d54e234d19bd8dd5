"""InfluxDB v2 writes through the token proxy land in VictoriaMetrics and read back via its export API."""

import json
import uuid

import pytest
import requests
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from deploy.local.victoria_metrics import force_flush


def _export(vm_url: str, selector: str) -> list[dict]:
    response = requests.get(f"{vm_url}/api/v1/export", params={"match[]": selector}, timeout=10)
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_influxdb_client_write_is_read_back_through_victoria_metrics_export(stack_env):
    bucket = f"test-{uuid.uuid4().hex[:12]}"  # becomes VictoriaMetrics' db label: isolates this test
    with InfluxDBClient(
        url=stack_env["INFLUXDB_URL"], token=stack_env["INFLUXDB_TOKEN"], org="ecom"
    ) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=bucket,
            record=[
                "generation_data,site=north,source=wind power_mw=12.5,capacity_mw=20i 1767225600000000000",
                "generation_data,site=north,source=wind power_mw=13.0,capacity_mw=20i 1767229200000000000",
            ],
            write_precision=WritePrecision.NS,
        )
    force_flush(stack_env["VICTORIA_METRICS_URL"])
    series = _export(stack_env["VICTORIA_METRICS_URL"], f'{{__name__=~"generation_data.*",db="{bucket}"}}')
    by_name = {row["metric"]["__name__"]: row for row in series}
    assert set(by_name) == {"generation_data_power_mw", "generation_data_capacity_mw"}
    power = by_name["generation_data_power_mw"]
    assert power["metric"]["site"] == "north" and power["metric"]["source"] == "wind"
    assert power["values"] == [12.5, 13.0]
    assert power["timestamps"] == [1767225600000, 1767229200000]  # VictoriaMetrics keeps milliseconds


@pytest.mark.parametrize("authorization", [None, "Token wrong-token", "Bearer x", "Token "])
def test_missing_or_wrong_token_is_rejected_with_influx_401(stack_env, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.post(
        f"{stack_env['INFLUXDB_URL']}/api/v2/write",
        params={"org": "ecom", "bucket": "energy", "precision": "ns"},
        headers=headers,
        data=b"generation_data value=1 1767225600000000000",
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "unauthorized access"}


def test_influxdb_client_with_wrong_token_raises_401(stack_env):
    with InfluxDBClient(url=stack_env["INFLUXDB_URL"], token="not-the-token", org="ecom") as client:
        with pytest.raises(ApiException) as error:
            client.write_api(write_options=SYNCHRONOUS).write(bucket="energy", record="m value=1")
    assert error.value.status == 401


def test_ping_and_health_answer_without_token(stack_env):
    ping = requests.get(f"{stack_env['INFLUXDB_URL']}/ping", timeout=5)
    assert ping.status_code == 204
    health = requests.get(f"{stack_env['INFLUXDB_URL']}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "pass"


def test_token_is_kept_in_secrets_manager(stack_env):
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack_env["INFLUXDB_TOKEN_SECRET_NAME"])
    assert json.loads(secret["SecretString"]) == {"token": stack_env["INFLUXDB_TOKEN"]}
