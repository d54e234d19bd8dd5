"""InfluxDB v2 writes through the token proxy land in influxd 1.x and read back with InfluxQL on `/query`."""

import json
import uuid

import pytest
import requests
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException


def _query(stack_env, bucket: str, influxql: str) -> dict:
    response = requests.get(
        f"{stack_env['INFLUXDB_URL']}/query",
        params={"db": bucket, "q": influxql, "epoch": "ns"},
        headers={"Authorization": f"Token {stack_env['INFLUXDB_TOKEN']}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _write(stack_env, bucket: str, body: bytes, precision: str = "ns") -> requests.Response:
    return requests.post(
        f"{stack_env['INFLUXDB_URL']}/api/v2/write",
        params={"org": "ecom", "bucket": bucket, "precision": precision},
        headers={"Authorization": f"Token {stack_env['INFLUXDB_TOKEN']}"},
        data=body,
        timeout=10,
    )


def test_influxdb_client_write_is_read_back_with_influxql_in_nanoseconds(stack_env):
    bucket = f"test-{uuid.uuid4().hex[:12]}"  # the proxy creates its database on the first write
    with InfluxDBClient(
        url=stack_env["INFLUXDB_URL"], token=stack_env["INFLUXDB_TOKEN"], org="ecom"
    ) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=bucket,
            record=[
                "generation_data,site=north,source=wind power_mw=12.5,capacity_mw=20i 1767225600000000001",
                "generation_data,site=north,source=wind power_mw=13.0,capacity_mw=20i 1767229200000000002",
            ],
            write_precision=WritePrecision.NS,
        )
    answer = _query(stack_env, bucket, 'SELECT * FROM "generation_data" GROUP BY *')
    (series,) = answer["results"][0]["series"]
    assert series["tags"] == {"site": "north", "source": "wind"}
    assert series["columns"] == ["time", "capacity_mw", "power_mw"]
    assert series["values"] == [[1767225600000000001, 20, 12.5], [1767229200000000002, 20, 13.0]]


def test_precision_is_translated_for_influxd(stack_env):
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    assert _write(stack_env, bucket, b"m v=1 1767225600000", precision="ms").status_code == 204
    answer = _query(stack_env, bucket, 'SELECT v FROM "m"')
    assert answer["results"][0]["series"][0]["values"] == [[1767225600000 * 10**6, 1]]
    bad = _write(stack_env, bucket, b"m v=1 1", precision="minutes")
    assert bad.status_code == 400 and "invalid precision" in bad.json()["message"]


def test_a_dropped_bucket_is_created_again_on_the_next_write(stack_env):
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    assert _write(stack_env, bucket, b"m v=1 1767225600000000000").status_code == 204
    dropped = requests.post(
        f"{stack_env['INFLUXDB_URL']}/query",
        params={"q": f'DROP DATABASE "{bucket}"'},
        headers={"Authorization": f"Token {stack_env['INFLUXDB_TOKEN']}"},
        timeout=10,
    )
    assert dropped.status_code == 200 and "error" not in dropped.json()["results"][0]
    assert _write(stack_env, bucket, b"m v=2 1767225600000000000").status_code == 204
    answer = _query(stack_env, bucket, 'SELECT v FROM "m"')
    assert answer["results"][0]["series"][0]["values"] == [[1767225600000000000, 2]]


def test_malformed_line_and_type_conflict_get_influxdbs_400_and_reason(stack_env):
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    assert _write(stack_env, bucket, b"m,site=a v=1.5 1767225600000000000").status_code == 204
    malformed = _write(stack_env, bucket, b"m,site=a v= 1767225600000000000")
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid"
    assert "unable to parse" in malformed.json()["message"]
    conflict = _write(
        stack_env, bucket, b"m,site=b v=2i 1767225600000000000\nm,site=c v=2.5 1767225600000000000"
    )
    assert conflict.status_code == 400
    message = conflict.json()["message"]
    assert "partial write" in message and "field type conflict" in message and "dropped=1" in message
    answer = _query(stack_env, bucket, 'SELECT count(v) FROM "m" GROUP BY site')
    counts = {s["tags"]["site"]: s["values"][0][1] for s in answer["results"][0]["series"]}
    assert counts == {"a": 1, "c": 1}  # the conflicting point alone was refused


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


@pytest.mark.parametrize("authorization", [None, "Token wrong-token"])
def test_query_without_the_token_is_rejected_before_reaching_influxd(stack_env, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.get(
        f"{stack_env['INFLUXDB_URL']}/query", params={"q": "SHOW DATABASES"}, headers=headers, timeout=10
    )
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_influxdb_client_with_wrong_token_raises_401(stack_env):
    with InfluxDBClient(url=stack_env["INFLUXDB_URL"], token="not-the-token", org="ecom") as client:
        with pytest.raises(ApiException) as error:
            client.write_api(write_options=SYNCHRONOUS).write(bucket="energy", record="m value=1")
    assert error.value.status == 401


def test_ping_and_health_answer_without_token(stack_env):
    ping = requests.get(f"{stack_env['INFLUXDB_URL']}/ping", timeout=5)
    assert ping.status_code == 204
    assert ping.headers["X-Influxdb-Version"].startswith("1.6")  # a real influxd answers
    health = requests.get(f"{stack_env['INFLUXDB_URL']}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "pass"
    assert health.json()["version"].startswith("1.6")


def test_token_is_kept_in_secrets_manager(stack_env):
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack_env["INFLUXDB_TOKEN_SECRET_NAME"])
    assert json.loads(secret["SecretString"]) == {"token": stack_env["INFLUXDB_TOKEN"]}
