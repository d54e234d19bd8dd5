"""Bronze demo: `bronze_daily_schedule` for the last day of the local sources' data, launched twice.

The source rows `make seed` writes (deploy/local/sources) changed in 2026-11-01 .. 2026-11-20, so the tick of
2026-11-21 00:30 UTC asks for partition 2026-11-20. The first run ingests every entity (nine steps: seven
tables, two APIs) and every check must pass; each entity's rows must equal the source rows changed before
2026-11-21 (an empty checkpoint table makes it a full extraction; later demos re-read the same window). The
second run of the same partition must leave the bronze objects and their rows (keys and record hashes)
exactly as they were. (A later `make demo` finds the tick's run key launched already and runs the partition
twice without it.)
"""

import io
import os
from datetime import UTC, date, datetime

import boto3
import psycopg2
import pyarrow.parquet as pq
from dagster import RunRequest, build_schedule_context
from psycopg2 import sql

from deploy.local.demos.base import DemoContext, DemoError, DemoSummary
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES, EntitySpec
from ecom_pipeline.bronze.layout import partition_prefix
from resources.s3_objects import list_object_versions

SCHEDULE = "bronze_daily_schedule"
JOB = "bronze_job"
TICK = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
PARTITION = date(2026, 11, 20)
ROOT = "data/bronze"  # BronzeLakeResource's default, as build_resources() leaves it
API_TABLES = {"payments": "external.payments", "shipments": "external.shipments"}


def _expected_rows(dsn: str, entity: EntitySpec, window_end: datetime) -> int:
    schema, table = (
        API_TABLES[entity.endpoint].split(".")
        if entity.source == "api"
        else (entity.schema, entity.source_table)
    )
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE {} < %s").format(
                sql.Identifier(schema, table), sql.Identifier(entity.cursor_column)
            ),
            (window_end,),
        )
        count = cur.fetchone()[0]
    conn.close()
    return count


def _snapshot(bucket: str, entity: EntitySpec) -> tuple[list[str], set[tuple]]:
    """The partition's object keys and its rows as (primary key..., _record_hash)."""
    s3 = boto3.client("s3")
    prefix = partition_prefix(ROOT, entity.name, PARTITION, "incremental")
    keys = sorted(obj.key for obj in list_object_versions(s3, bucket, prefix))
    rows: set[tuple] = set()
    for key in keys:
        if key.endswith(".parquet"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            table = pq.read_table(io.BytesIO(body), columns=[*entity.primary_key, "_record_hash"])
            rows.update(zip(*(table[c].to_pylist() for c in table.column_names), strict=True))
    return keys, rows


def _schedule_requests(ctx: DemoContext) -> list[RunRequest]:
    """One tick of the schedule. DemoContext.evaluate_schedule passes the Definitions' resources, which
    include generator resources the schedule context cannot open outside a `with`; this schedule uses no
    resources, so it is evaluated without them."""
    context = build_schedule_context(instance=ctx.instance, scheduled_execution_time=TICK)
    requests = list(ctx.defs.get_schedule_def(SCHEDULE).evaluate_tick(context).run_requests or [])
    ctx.log(f"schedule {SCHEDULE} at {TICK.isoformat()}: {len(requests)} run request(s)")
    return requests


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="bronze")
    bucket, dsn = os.environ["LAKE_BUCKET"], os.environ["ECOM_SOURCE_DSN"]
    requests = _schedule_requests(ctx)
    if [r.partition_key for r in requests] != [PARTITION.isoformat()]:
        raise DemoError(
            f"{SCHEDULE} at {TICK} asked for {[r.partition_key for r in requests]}, not {PARTITION}"
        )
    (request,) = requests

    window_end = datetime(2026, 11, 21, tzinfo=UTC)

    def source_counts() -> dict[str, int]:
        return {e.name: _expected_rows(dsn, e, window_end) for e in BRONZE_ENTITIES}

    # Rows only ever leave a past window (a later update moves updated_at forward), so while other work
    # writes the shared source tables, the rows a run saw lie between the counts before and after it.
    counts_before = source_counts()
    rerun = RunRequest(partition_key=request.partition_key, tags=dict(request.tags or {}))
    first = ctx.launch(request, JOB)
    if first.skipped_duplicate:
        # An earlier demo launched this tick already; run the partition again so both runs below are fresh.
        first = ctx.launch(rerun, JOB)
    summary.add(first)
    if not first.success or first.materializations != len(BRONZE_ENTITIES):
        raise DemoError(
            f"first bronze run: success={first.success}, {first.materializations} materializations"
        )
    if first.checks_failed:
        raise DemoError(f"first bronze run: {first.checks_failed} check(s) failed")
    counts_after = source_counts()

    before = {}
    for entity in BRONZE_ENTITIES:
        keys, rows = _snapshot(bucket, entity)
        low, high = counts_after[entity.name], counts_before[entity.name]
        if not low <= len(rows) <= high:
            raise DemoError(
                f"bronze_{entity.name}: {len(rows)} rows in S3, source has {low}..{high} changed before {window_end}"
            )
        before[entity.name] = (keys, rows)
        summary.rows += len(rows)
        ctx.log(f"  {entity.name:<15} {len(rows):>6} rows in {len(keys) - 1} Parquet file(s)")

    # The same partition again, as a re-execution from the UI would (no run key, so it is not deduplicated).
    again = ctx.launch(rerun, JOB)
    summary.add(again)
    if not again.success or again.checks_failed:
        raise DemoError(f"second bronze run: success={again.success}, {again.checks_failed} check(s) failed")
    counts_last = source_counts()
    moved = []
    for entity in BRONZE_ENTITIES:
        keys, rows = _snapshot(bucket, entity)
        if counts_last[entity.name] == counts_before[entity.name]:
            if (keys, rows) != before[entity.name]:
                raise DemoError(
                    f"bronze_{entity.name}: the second run of {PARTITION} changed the bronze data"
                )
        elif not rows <= before[entity.name][1]:
            raise DemoError(f"bronze_{entity.name}: the second run wrote rows the first did not have")
        else:
            moved.append(entity.name)
    summary.notes.append(
        f"partition {PARTITION} run twice: bronze unchanged for {len(BRONZE_ENTITIES) - len(moved)} entities"
        + (
            f"; {', '.join(moved)} changed at the source meanwhile (rows only left the window)"
            if moved
            else ""
        )
    )
    return summary
