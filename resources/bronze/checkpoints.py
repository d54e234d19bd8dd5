"""Per-entity ingestion checkpoints in DynamoDB: one item per entity, so parallel entity steps never contend
for one record and a conditional write keeps each checkpoint moving forwards only."""

from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from pydantic import Field

from ecom_pipeline.errors import ConfigurationError
from resources.aws_clients import AwsClientResource

# Fixed-width UTC form: lexicographic order equals time order, which the conditional write relies on.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_checkpoint_ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("checkpoint timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def parse_checkpoint_ts(value: str) -> datetime:
    return datetime.strptime(value, _TS_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Checkpoint:
    entity: str
    last_sync_timestamp: datetime
    record_count: int
    updated_at: datetime


class CheckpointStoreResource(AwsClientResource):
    """`advance` is a conditional write, so a backfill of an old partition can never move a checkpoint back."""

    table_name: str = Field(description="DynamoDB table with hash key `entity`.")

    def _table(self):
        return self.dynamodb_resource().Table(self.table_name)

    def get(self, entity: str) -> Checkpoint | None:
        try:
            item = self._table().get_item(Key={"entity": entity}, ConsistentRead=True).get("Item")
        except ClientError as exc:
            self._raise_if_missing_table(exc)
            raise
        if not item:
            return None
        return Checkpoint(
            entity=entity,
            last_sync_timestamp=parse_checkpoint_ts(item["last_sync_timestamp"]),
            record_count=int(item["record_count"]),
            updated_at=parse_checkpoint_ts(item["updated_at"]),
        )

    def advance(self, entity: str, last_sync_timestamp: datetime, record_count: int) -> bool:
        """Store the checkpoint unless a newer one is already stored; True when written."""
        ts = format_checkpoint_ts(last_sync_timestamp)
        try:
            self._table().put_item(
                Item={
                    "entity": entity,
                    "last_sync_timestamp": ts,
                    "record_count": record_count,
                    "updated_at": format_checkpoint_ts(datetime.now(UTC)),
                },
                ConditionExpression="attribute_not_exists(entity) OR last_sync_timestamp <= :ts",
                ExpressionAttributeValues={":ts": ts},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            self._raise_if_missing_table(exc)
            raise
        return True

    def _raise_if_missing_table(self, exc: ClientError) -> None:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise ConfigurationError(
                f"DynamoDB checkpoint table {self.table_name!r} does not exist"
            ) from None
