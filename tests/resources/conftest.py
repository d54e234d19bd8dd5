import json
import os
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import boto3
import pytest


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def make_secret(stack_env) -> Iterator[Callable[[dict], str]]:
    """Create throwaway secrets in the stack's Secrets Manager; deleted afterwards."""
    client = boto3.client("secretsmanager")
    created: list[str] = []

    def make(value: dict) -> str:
        name = f"test/{uuid.uuid4().hex}"
        client.create_secret(Name=name, SecretString=json.dumps(value))
        created.append(name)
        return name

    yield make
    for name in created:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def source_creds(stack_env) -> dict:
    """The stack's source database as the JSON an RDS secret holds."""
    url = urlparse(os.environ["ECOM_SOURCE_DSN"])
    return {
        "username": url.username,
        "password": url.password,
        "host": url.hostname,
        "port": url.port,
        "dbname": url.path.lstrip("/"),
    }
