import os
import uuid

import pytest

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.influxdb import InfluxDBResource
from resources.secrets import SecretsManagerResource


@pytest.fixture
def influx(stack_env) -> InfluxDBResource:
    return InfluxDBResource(
        url=os.environ["INFLUXDB_URL"],
        org=os.environ["INFLUXDB_ORG"],
        bucket=os.environ["INFLUXDB_BUCKET"],
        token_secret_name=os.environ["INFLUXDB_TOKEN_SECRET_NAME"],
        secrets=SecretsManagerResource(),
    )


def test_write_is_read_back(influx) -> None:
    assert influx.health()["status"] == "healthy"
    influx.check_auth()
    measurement = f"resource_test_{uuid.uuid4().hex[:8]}"
    ts = 1_763_600_000_000_000_001  # nanoseconds survive the round trip
    influx.write_lines(
        [f"{measurement},region=north\\ east value=1.5 {ts}", f"{measurement},region=south value=2 {ts}"]
    )
    answer = influx.query(f'SELECT value FROM "{measurement}" GROUP BY region')
    series = answer["results"][0]["series"]
    assert sorted((s["tags"]["region"], s["values"]) for s in series) == [
        ("north east", [[ts, 1.5]]),
        ("south", [[ts, 2]]),
    ]


def test_query_with_a_wrong_token_is_rejected(influx) -> None:
    bad = influx.model_copy(update={"token": "definitely-wrong-token", "token_secret_name": None})
    with pytest.raises(ConfigurationError, match="rejected the token") as info:
        bad.query("SHOW MEASUREMENTS")
    assert "definitely-wrong-token" not in str(info.value)


def test_wrong_token_is_rejected_without_echoing_it(influx) -> None:
    bad = influx.model_copy(update={"token": "definitely-wrong-token", "token_secret_name": None})
    with pytest.raises(ConfigurationError, match="rejected the token") as info:
        bad.check_auth()
    assert "definitely-wrong-token" not in str(info.value)


def test_server_down_is_unavailable(influx) -> None:
    down = influx.model_copy(update={"url": "http://127.0.0.1:1"})
    assert down.health()["status"] == "unhealthy"
    with pytest.raises(ServiceUnavailableError, match="127.0.0.1:1"):
        down.write_lines(["m v=1 1"])


def test_missing_token_configuration_is_named(stack_env) -> None:
    with pytest.raises(ConfigurationError, match="INFLUXDB_TOKEN"):
        InfluxDBResource(url="http://127.0.0.1:1", org="o", bucket="b").check_auth()
