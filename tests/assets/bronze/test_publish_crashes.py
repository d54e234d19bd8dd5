"""A crash at each point of bronze's publish sequence, against the real S3 and DynamoDB: a re-run converges.

The crash is a hook of `ingest_partition` that raises at the point (`PUBLISH_POINTS`), plus one real
failure of the real store: the checkpoint write against a DynamoDB table that does not exist. After each, a
normal run of the partition must leave the same files, rows and checkpoint as a run that never crashed.
"""

import os
from datetime import UTC, date, datetime

import psycopg2
import pytest
from psycopg2 import sql

from ecom_pipeline.bronze.enrich import IngestionStamp
from ecom_pipeline.bronze.ingest import PUBLISH_POINTS, ingest_partition
from ecom_pipeline.bronze.layout import partition_prefix
from ecom_pipeline.bronze.windows import LoadType, plan_window
from ecom_pipeline.errors import ConfigurationError
from resources.bronze.checkpoints import CheckpointStoreResource
from resources.bronze.sources import rds_extraction
from tests.assets.bronze.test_rds import make_events, ts

_ORIGINAL = ["id", "amount", "note", "created_at", "updated_at", "_record_hash"]
_DAY = "2026-06-11"


class Crash(Exception):
    pass


def _crash_at(point: str):
    def reached(at: str) -> None:
        if at == point:
            raise Crash(point)

    return reached


def _crashing_run(sandbox, entity, reached=lambda point: None, checkpoints=None) -> None:
    """One ingestion of partition _DAY as the asset would plan it, with a crash injected."""
    lake = sandbox.lake()
    store, layout = lake.store(), lake.layout()
    real_checkpoints = CheckpointStoreResource(table_name=os.environ["CHECKPOINT_TABLE"])
    stored = real_checkpoints.get(entity.checkpoint_key)
    previous = store.read_manifest(
        partition_prefix(
            layout.root_prefix, entity.name, date.fromisoformat(_DAY), LoadType.INCREMENTAL.value
        )
    )
    now = datetime.now(UTC)
    window = plan_window(
        date.fromisoformat(_DAY),
        now,
        config_load_type=None,
        tag_load_type=None,
        checkpoint=stored.last_sync_timestamp if stored else None,
        previous_incremental_start=previous.window_start_at if previous else None,
    )
    ingest_partition(
        entity,
        window,
        rds_extraction(lambda: psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]), entity, window),
        store,
        checkpoints or real_checkpoints,
        layout,
        IngestionStamp(ingestion_id=f"crash-{now.timestamp()}", ingestion_ts=now, source_system="rds"),
        lambda message: None,
        reached=reached,
    )


def _state(sandbox, entity) -> tuple[list[str], list[dict], datetime | None]:
    """Folder contents relative to the entity, the rows, the checkpoint."""
    prefix = f"{sandbox.root}/data/bronze/{entity.name}/"
    keys = [key.removeprefix(prefix) for key in sandbox.keys(f"data/bronze/{entity.name}/")]
    rows = sandbox.read(entity).select(_ORIGINAL).sort_by("id").to_pylist()
    checkpoint = sandbox.checkpoint(entity)
    return keys, rows, checkpoint.last_sync_timestamp if checkpoint else None


def _events(sandbox) -> None:
    make_events(
        sandbox,
        [
            (1, "2026-06-10T01:00:00", "2026-06-10T01:00:00"),
            (2, "2026-06-05T01:00:00", "2026-06-11T01:00:00"),
            (3, "2026-06-11T02:00:00", "2026-06-11T02:00:00"),
        ],
    )


def test_a_crash_at_each_publish_point_converges_on_rerun(bronze_sandbox):
    sandbox = bronze_sandbox
    _events(sandbox)
    reference = sandbox.entity("ref", table="events")
    assert sandbox.run([reference], "2026-06-10").success
    assert sandbox.run([reference], _DAY).success
    expected = _state(sandbox, reference)
    assert expected[2] == ts("2026-06-12T00:00:00")

    faults = [(point, _crash_at(point), None, Crash) for point in PUBLISH_POINTS]
    missing_table = CheckpointStoreResource(table_name=f"no-such-table-{sandbox.unique}")
    faults.append(("dynamodb_missing", lambda point: None, missing_table, ConfigurationError))
    for number, (point, reached, checkpoints, error) in enumerate(faults):
        entity = sandbox.entity(f"crash{number}", table="events")
        assert sandbox.run([entity], "2026-06-10").success
        with pytest.raises(error):
            _crashing_run(sandbox, entity, reached, checkpoints)
        # Whatever the crash left, the checkpoint never moved past what the lake committed.
        assert sandbox.checkpoint(entity).last_sync_timestamp == ts("2026-06-11T00:00:00"), point
        assert sandbox.run([entity], _DAY).success, point
        assert _state(sandbox, entity) == expected, point


def test_a_crash_after_promotion_over_an_earlier_run_converges(bronze_sandbox):
    sandbox = bronze_sandbox
    _events(sandbox)
    entity = sandbox.entity("events")
    assert sandbox.run([entity], _DAY).success
    folder = f"data/bronze/{entity.name}/ingestion_date={_DAY}/load_type=incremental/"
    assert any("event_date=2026-06-05/" in key for key in sandbox.keys(folder))
    # Row 2 moves to another event date: the earlier run's 2026-06-05 part must go.
    sandbox.execute(
        sql.SQL("UPDATE {} SET created_at = %s, updated_at = %s WHERE id = 2").format(
            sandbox.table("events")
        ),
        (ts("2026-06-07T01:00:00"), ts("2026-06-11T05:00:00")),
    )
    with pytest.raises(Crash):
        _crashing_run(sandbox, entity, _crash_at("promoted"))
    mixed = sandbox.keys(folder)
    # What a reader listing the folder sees for a moment: the old and the new parts side by side.
    assert any("event_date=2026-06-05/" in key for key in mixed)
    assert any("event_date=2026-06-07/" in key for key in mixed)

    assert sandbox.run([entity], _DAY).success
    keys = sandbox.keys(folder)
    assert not any("event_date=2026-06-05/" in key for key in keys)
    reference = sandbox.entity("ref", table="events")
    assert sandbox.run([reference], _DAY).success
    assert _state(sandbox, entity)[:2] == _state(sandbox, reference)[:2]
