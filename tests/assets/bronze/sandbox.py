"""An isolated bronze world on the live stack: own source schema, own lake prefix, own checkpoint keys."""

import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, materialize
from psycopg2 import sql

from assets.bronze.assets import build_bronze_asset
from ecom_pipeline.bronze.entities import EntitySpec
from resources.bronze.checkpoints import Checkpoint, CheckpointStoreResource
from resources.bronze.lake import BronzeLakeResource
from resources.bronze.source_api import SourceApiResource
from resources.rds import RdsPostgresResource
from resources.s3_objects import list_object_versions
from resources.secrets import SecretsManagerResource


@dataclass
class BronzeSandbox:
    unique: str
    schema: str
    bucket: str
    root: str
    api_urls: dict[str, str] = field(default_factory=dict)
    api_key_secret: str = ""
    instance: DagsterInstance = field(default_factory=DagsterInstance.ephemeral)
    entity_names: list[str] = field(default_factory=list)

    def execute(self, statement: Any, params: Any = None, session: tuple[str, ...] = ()) -> list[tuple]:
        with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
            for setting in ("SET TIME ZONE 'UTC'", *session):
                cur.execute(setting)
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def entity(self, suffix: str, table: str | None = None, **overrides: Any) -> EntitySpec:
        """An entity named uniquely for this sandbox (its checkpoint key and lake folder are its own)."""
        values = {"source": "rds", "primary_key": ("id",), "event_date_column": "created_at"}
        values.update(overrides)
        spec = EntitySpec(
            name=f"t{self.unique}_{suffix}", schema=self.schema, table=table or suffix, **values
        )
        self.entity_names.append(spec.name)
        return spec

    def lake(self, **overrides: Any) -> BronzeLakeResource:
        values = {
            "bucket": self.bucket,
            "root_prefix": f"{self.root}/data/bronze",
            "staging_prefix": f"{self.root}/staging/bronze",
        }
        values.update(overrides)
        return BronzeLakeResource(**values)

    def resources(self, rds_settings: dict[str, Any] | None = None, **lake_overrides: Any) -> dict[str, Any]:
        secrets = SecretsManagerResource()
        return {
            "bronze_lake": self.lake(**lake_overrides),
            "bronze_checkpoints": CheckpointStoreResource(table_name=os.environ["CHECKPOINT_TABLE"]),
            "rds": RdsPostgresResource(
                secrets=secrets, secret_name=os.environ["RDS_SECRET_NAME"], **(rds_settings or {})
            ),
            "bronze_source_api": SourceApiResource(
                payments_url=self.api_urls.get("payments", "http://127.0.0.1:9/payments"),
                shipments_url=self.api_urls.get("shipments", "http://127.0.0.1:9/shipments"),
                api_key_secret_name=self.api_key_secret or "unused",
                secrets=secrets,
                backoff_base_seconds=0.05,
            ),
        }

    def run(
        self,
        entities: list[EntitySpec],
        partition: str,
        tags: dict | None = None,
        rds_settings: dict[str, Any] | None = None,
        **lake_overrides: Any,
    ) -> ExecuteInProcessResult:
        return materialize(
            [build_bronze_asset(e) for e in entities],
            partition_key=partition,
            resources=self.resources(rds_settings, **lake_overrides),
            instance=self.instance,
            tags=tags,
            raise_on_error=False,
        )

    def checkpoint(self, entity: EntitySpec) -> Checkpoint | None:
        return CheckpointStoreResource(table_name=os.environ["CHECKPOINT_TABLE"]).get(entity.checkpoint_key)

    def keys(self, prefix: str = "") -> list[str]:
        objects = list_object_versions(boto3.client("s3"), self.bucket, f"{self.root}/{prefix}")
        return sorted(obj.key for obj in objects)

    def read(self, entity: EntitySpec, folder: str = "") -> pa.Table:
        """Every Parquet row of the entity (or of one `ingestion_date=.../load_type=...` folder)."""
        s3 = boto3.client("s3")
        prefix = f"data/bronze/{entity.name}/{folder}"
        tables = [
            pq.read_table(io.BytesIO(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()))
            for key in self.keys(prefix)
            if key.endswith(".parquet")
        ]
        return pa.concat_tables(tables) if tables else pa.table({})


def materialization_metadata(result: ExecuteInProcessResult, entity: EntitySpec) -> dict[str, Any]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [entity.asset_name]]
    assert len(events) == 1, f"expected one materialization of {entity.asset_name}, got {len(events)}"
    return {k: v.value for k, v in events[0].materialization.metadata.items()}


def step_errors(result: ExecuteInProcessResult) -> dict[str, str]:
    """Step key -> the error's text including its causes (Dagster wraps the asset's exception)."""
    return {
        event.step_key: event.step_failure_data.error.to_string()
        for event in result.get_step_failure_events()
    }


def check_outcomes(result: ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture(name="bronze_sandbox")
def bronze_sandbox_fixture(stack_env) -> Iterator[BronzeSandbox]:
    unique = uuid.uuid4().hex[:10]
    sandbox = BronzeSandbox(
        unique=unique,
        schema=f"bronze_test_{unique}",
        bucket=os.environ["LAKE_BUCKET"],
        root=f"tests/bronze-{unique}",
    )
    sandbox.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(sandbox.schema)))
    yield sandbox
    sandbox.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(sandbox.schema)))
    table = boto3.resource("dynamodb").Table(os.environ["CHECKPOINT_TABLE"])
    for name in sandbox.entity_names:
        table.delete_item(Key={"entity": name})
    keys = sandbox.keys()
    s3 = boto3.client("s3")
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=sandbox.bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
        )
