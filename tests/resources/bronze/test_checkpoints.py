from datetime import UTC, datetime

import boto3
import pytest

from ecom_pipeline.errors import ConfigurationError
from resources.bronze.checkpoints import CheckpointStoreResource


@pytest.fixture
def store(stack_env, unique):
    client = boto3.client("dynamodb")
    name = f"checkpoints-{unique}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "entity", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "entity", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield CheckpointStoreResource(table_name=name)
    client.delete_table(TableName=name)


def test_checkpoint_advances_and_never_moves_back(store) -> None:
    assert store.get("orders") is None
    late = datetime(2026, 11, 20, 10, 30, 0, 123456, tzinfo=UTC)
    early = datetime(2026, 11, 18, tzinfo=UTC)
    assert store.advance("orders", late, 250) is True
    assert store.advance("orders", early, 10) is False
    stored = store.get("orders")
    assert stored.last_sync_timestamp == late
    assert stored.record_count == 250
    assert store.advance("orders", late, 0) is True, "re-running the same window is allowed"


def test_missing_table_is_named(stack_env) -> None:
    with pytest.raises(ConfigurationError, match="'missing-checkpoints'"):
        CheckpointStoreResource(table_name="missing-checkpoints").get("orders")
