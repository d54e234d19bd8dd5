import json
import uuid
from collections.abc import Callable, Iterator

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
