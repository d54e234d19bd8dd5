import json

import boto3
import pytest

from ecom_pipeline.errors import ConfigurationError
from resources.secrets import SecretsManagerResource


def test_secret_is_cached_for_its_ttl(make_secret) -> None:
    name = make_secret({"api_key": "first"})
    cached = SecretsManagerResource(cache_ttl_seconds=3600)
    assert cached.get_json(name) == {"api_key": "first"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=name, SecretString=json.dumps({"api_key": "second"})
    )
    assert cached.get_json(name) == {"api_key": "first"}, (
        "a cached secret must not be refetched within the TTL"
    )
    assert SecretsManagerResource(cache_ttl_seconds=0).get_json(name) == {"api_key": "second"}
    cached.invalidate(name)
    assert cached.get_json(name) == {"api_key": "second"}


def test_missing_secret_names_the_secret(stack_env) -> None:
    with pytest.raises(ConfigurationError, match="'does/not/exist' not found"):
        SecretsManagerResource().get_json("does/not/exist")


def test_invalid_json_error_does_not_leak_the_value(make_secret) -> None:
    name = make_secret({"x": 1})
    boto3.client("secretsmanager").put_secret_value(SecretId=name, SecretString="hunter2-not-json")
    with pytest.raises(ConfigurationError) as info:
        SecretsManagerResource(cache_ttl_seconds=0).get_json(name)
    assert "hunter2" not in str(info.value)
    assert name in str(info.value)
