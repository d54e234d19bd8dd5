"""How the Dagster side of the project behaves as dynamic partitions pile up (one per metric file, one per upload).

`python -m bench.dynamic_partitions --sizes 1000 100000` (make bench-dynamic-partitions; needs the stack).

For each size N it builds a throwaway Dagster instance (its own database in the stack's PostgreSQL, the storage
production uses) holding N `metric_import_files` partitions, each materialized once, N/10 `product_uploads`
partitions, and N import-ledger rows in a throwaway schema; then it starts `dagster-webserver` on that instance
and times, each the median of three:

- a `metric_imports_sensor` tick with 5 new files in the bucket (the sensor adds their partitions);
- the hourly sweep (`metric_imports_sweep_schedule`) against the N-row ledger;
- planning a 1,000-partition backfill of `imported_metrics` (the `launchPartitionBackfill` mutation the
  partitions page sends; the backfill is cancelled right after);
- the GraphQL behind the asset's partitions page (partition keys and per-partition status) and behind the
  asset graph (every asset node with its dependencies and partitioning).

Goal: each under 2 s at 100k partitions and within 2x of the same at 1k (a measure under 0.1 s at both sizes
meets the growth goal whatever its ratio: at that scale the ratio is noise). The table prints both and the ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import psycopg2
import requests
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    build_schedule_context,
    build_sensor_context,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from psycopg2 import sql

from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.postgres_server import PostgresServer
from deploy.local.sources.database import create_metric_import_sandbox, drop_schema
from deploy.local.stack_config import StackConfig

GOAL_SECONDS = 2.0
GOAL_GROWTH = 2.0
# Below this, a growth ratio measures noise (a 20 ms query taking 50 ms), not growth.
NOISE_FLOOR_SECONDS = 0.1
BACKFILL_SIZE = 1000
NEW_FILES = 5
EVENT_BATCH = 2000
PARTITIONS_PAGE_QUERY = """
query PartitionsPage($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      partitionKeysByDimension { name partitionKeys }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      }
    }
  }
}"""
ASSET_GRAPH_QUERY = """
query AssetGraph {
  assetNodes {
    id assetKey { path } groupName isPartitioned isMaterializable
    dependencyKeys { path } dependedByKeys { path }
    partitionDefinition { description }
  }
}"""
LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
CANCEL_BACKFILL = """
mutation Cancel($id: String!) { cancelPartitionBackfill(backfillId: $id) { __typename } }"""


def _median_seconds(action: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class BenchInstance:
    """A Dagster instance in its own PostgreSQL database, like production's, thrown away afterwards."""

    def __init__(self, config: StackConfig) -> None:
        self.server = PostgresServer(config)
        self.database = f"dagster_bench_{uuid.uuid4().hex[:8]}"
        self.home = Path(tempfile.mkdtemp(prefix="dagster-bench-"))
        admin = self.server.admin_connect()
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER dagster").format(sql.Identifier(self.database)))
        admin.close()
        url = os.environ["DAGSTER_PG_URL"].rsplit("/", 1)[0] + f"/{self.database}"
        (self.home / "dagster.yaml").write_text(
            f"storage:\n  postgres:\n    postgres_url: {json.dumps(url)}\ntelemetry:\n  enabled: false\n"
        )
        self.instance = DagsterInstance.from_config(str(self.home))

    def close(self) -> None:
        self.instance.dispose()
        admin = self.server.admin_connect()
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.database)))
        admin.close()


def _materialization_entry(key: str, timestamp: float) -> EventLogEntry:
    materialization = AssetMaterialization(asset_key=AssetKey("imported_metrics"), partition=key)
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name=RUNLESS_JOB_NAME,
        event_specific_data=StepMaterializationData(materialization),
    )
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id=RUNLESS_RUN_ID,
        timestamp=timestamp,
        dagster_event=event,
    )


def populate(bench: BenchInstance, files: int, dsn: str, schema: str, bucket: str) -> float:
    """N file partitions, each materialized once, N/10 upload partitions, N ledger rows; returns seconds."""
    started = time.perf_counter()
    keys = [f"imports/2026/{i // 10000:02d}/{i // 100 % 100:02d}/metrics_{i:07d}.json" for i in range(files)]
    for start in range(0, files, 10_000):
        bench.instance.add_dynamic_partitions("metric_import_files", keys[start : start + 10_000])
    uploads = [f"UPLOAD_VEND{i % 50:03d}_20260101_000000_{i:010x}" for i in range(max(1, files // 10))]
    bench.instance.add_dynamic_partitions("product_uploads", uploads)
    now = time.time()
    for start in range(0, files, EVENT_BATCH):
        batch = [_materialization_entry(key, now) for key in keys[start : start + EVENT_BATCH]]
        bench.instance.event_log_storage.store_event_batch(batch)
    create_metric_import_sandbox(dsn, schema)
    rows = io.StringIO()
    for key in keys:
        rows.write(
            f"{key}\t{bucket}\tetag-{key[-12:-5]}\timported\t100\t10\t10\t{datetime.now(UTC).isoformat()}\n"
        )
    rows.seek(0)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.copy_expert(
            sql.SQL(
                "COPY {}.metric_import_files (file_key, bucket, etag, status, size_bytes, records_in_file, "
                "rows_imported, imported_at) FROM STDIN"
            )
            .format(sql.Identifier(schema))
            .as_string(conn),
            rows,
        )
    conn.close()
    return time.perf_counter() - started


class Webserver:
    """`dagster-webserver` on the bench instance: the UI's own GraphQL, as the browser calls it."""

    def __init__(self, home: Path, port: int) -> None:
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                "-m",
                "ecom_pipeline.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(1)
        self.close()
        raise RuntimeError(f"dagster-webserver did not answer on port {port} within 180 s")

    def query(self, text: str, variables: dict | None = None) -> dict:
        response = requests.post(self.url, json={"query": text, "variables": variables or {}}, timeout=300)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(size: int, port: int) -> dict[str, float]:
    from ecom_pipeline.definitions import defs
    from resources import build_resources
    from resources.metric_imports.config import MetricImportsConfig

    config = StackConfig.from_env()
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema = f"bench_parts_{uuid.uuid4().hex[:8]}"
    bucket = f"bench-partitions-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    bench = BenchInstance(config)
    results: dict[str, float] = {}
    try:
        results["setup (not timed against the goal)"] = populate(bench, size, dsn, schema, bucket)
        for i in range(NEW_FILES):
            s3.put_object(Bucket=bucket, Key=f"imports/new/file_{i}.json", Body=b'{"metrics": []}')
        imports = MetricImportsConfig(
            bucket=bucket,
            dlq_url=os.environ["IMPORT_DLQ_URL"],
            notifications_topic_arn=os.environ["NOTIFICATIONS_TOPIC_ARN"],
            db_schema=schema,
            sweep_settle_minutes=0,
        )
        resources = {**build_resources(), "metric_imports_config": imports}
        sensor = defs.get_sensor_def("metric_imports_sensor")
        schedule = defs.get_schedule_def("metric_imports_sweep_schedule")

        def tick() -> object:
            with build_sensor_context(instance=bench.instance, resources=resources) as context:
                return sensor(context)

        def sweep() -> object:
            with build_schedule_context(
                instance=bench.instance,
                resources=resources,
                scheduled_execution_time=datetime.now(UTC) + timedelta(hours=1),
            ) as context:
                return schedule(context)

        results["sensor tick"] = _median_seconds(tick)
        results["hourly sweep"] = _median_seconds(sweep)

        web = Webserver(bench.home, port)
        try:
            names = bench.instance.get_dynamic_partitions("metric_import_files")[:BACKFILL_SIZE]

            def plan_backfill() -> None:
                data = web.query(
                    LAUNCH_BACKFILL,
                    {
                        "params": {
                            "partitionNames": names,
                            "assetSelection": [{"path": ["imported_metrics"]}],
                            "fromFailure": False,
                        }
                    },
                )
                outcome = data["launchPartitionBackfill"]
                if outcome["__typename"] != "LaunchBackfillSuccess":
                    raise RuntimeError(f"backfill not launched: {outcome}")
                web.query(CANCEL_BACKFILL, {"id": outcome["backfillId"]})

            results[f"plan a {BACKFILL_SIZE}-partition backfill"] = _median_seconds(plan_backfill)
            key = {"key": {"path": ["imported_metrics"]}}
            results["partitions page (GraphQL)"] = _median_seconds(
                lambda: web.query(PARTITIONS_PAGE_QUERY, key)
            )
            results["asset graph (GraphQL)"] = _median_seconds(lambda: web.query(ASSET_GRAPH_QUERY))
        finally:
            web.close()
    finally:
        bench.close()
        drop_schema(dsn, schema)
        delete_bucket(s3, bucket)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dynamic_partitions", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ECOM_BENCH_UI_PORT", "3390")))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Starting in dagster 1.11")
    by_size = {}
    for size in args.sizes:
        print(f"building an instance with {size:,} file partitions ...", flush=True)
        by_size[size] = measure(size, args.port)
    small, large = min(by_size), max(by_size)
    print(
        f"\n{'measure':<40}" + "".join(f"{f'{s:,} parts':>14}" for s in args.sizes) + f"{'growth':>9}  goal"
    )
    failed = []
    for name in by_size[large]:
        values = [by_size[s][name] for s in args.sizes]
        growth = by_size[large][name] / by_size[small][name] if by_size[small][name] else float("inf")
        if name.startswith("setup"):
            verdict = ""
        else:
            steady = growth <= GOAL_GROWTH or by_size[large][name] < NOISE_FLOOR_SECONDS
            ok = by_size[large][name] < GOAL_SECONDS and steady
            verdict = f"< {GOAL_SECONDS:.0f} s and <= {GOAL_GROWTH:.0f}x: {'met' if ok else 'NOT met'}"
            if not ok:
                failed.append(name)
        print(f"{name:<40}" + "".join(f"{v:>13.3f}s" for v in values) + f"{growth:>8.2f}x  {verdict}")
    print(f"\ngoals not met: {', '.join(failed)}" if failed else "\nevery goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
