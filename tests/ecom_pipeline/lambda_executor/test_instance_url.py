import pytest

from ecom_pipeline.lambda_executor import instance_url
from ecom_pipeline.lambda_executor.instance_url import ensure_instance_database_url, instance_database_url

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


def test_env_is_built_only_when_the_url_is_absent(monkeypatch) -> None:
    import json

    monkeypatch.delenv(instance_url.URL_ENV, raising=False)
    monkeypatch.setenv(instance_url.SECRET_ENV, "arn:secret")
    monkeypatch.setenv(instance_url.HOST_ENV, "proxy.internal")
    reads: list[str] = []
    assert ensure_instance_database_url(lambda name: reads.append(name) or json.dumps(SECRET)) is True
    assert reads == ["arn:secret"]
    assert "@proxy.internal:5432/dagster" in instance_url.os.environ[instance_url.URL_ENV]
    assert ensure_instance_database_url(lambda name: pytest.fail("must not read the secret again")) is False
