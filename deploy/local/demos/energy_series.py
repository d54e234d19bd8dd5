"""Energy series demo: sample Parquet for three datasets through `energy_series_sensor` into InfluxDB, read back.

Puts the generator's demo files (one clean file per dataset for the sample day, one generation file with
planted bad rows for the day before) plus a file missing a required column into the series bucket, runs
one sensor tick, launches the runs, replays one file as an S3 event by hand (same run key, so nothing runs
twice) and reads every partition back from InfluxDB with the same InfluxQL count the check sends.
"""

import io
import os
from datetime import date, timedelta

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import RunRequest

from deploy.local.demos.base import DemoContext, DemoError, DemoRunOutcome, DemoSummary
from deploy.local.sources.energy_files import (
    demo_energy_files,
    energy_invalid_rows,
    energy_key,
    energy_parquet,
)
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.partition_day import day_bounds_ns
from resources.energy_series.config import EnergySeriesConfig
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource
from sensors.energy_series import run_requests_for_event

SAMPLE_DAY = date(2026, 11, 20)
ROWS = 480
BROKEN_DAY = SAMPLE_DAY - timedelta(days=2)  # transmission file without `voltage_kv`: must fail as bad input
JOB = "energy_series_job"


def _broken_file() -> bytes:
    table = pq.read_table(pa.BufferReader(energy_parquet("transmission", BROKEN_DAY, 48)))
    sink = io.BytesIO()
    pq.write_table(table.drop_columns(["voltage_kv"]), sink)
    return sink.getvalue()


def _expected_points() -> dict[tuple[str, date], int]:
    bad_rows = sum(1 for kind in energy_invalid_rows(ROWS).values() if kind == "bad_field")
    expected = {(name, SAMPLE_DAY): ROWS for name in DATASETS}
    expected[("generation", SAMPLE_DAY - timedelta(days=1))] = ROWS - bad_rows
    return expected


def _partition(request: RunRequest) -> tuple[str, date]:
    dataset, day = str(request.partition_key).split("|")
    return dataset, date.fromisoformat(day)


def _check_outcome(
    ctx: DemoContext, request: RunRequest, outcome: DemoRunOutcome, summary: DemoSummary
) -> None:
    dataset, day = _partition(request)
    expect_failure = day == BROKEN_DAY
    if outcome.success == expect_failure:
        raise DemoError(
            f"{dataset} {day}: run {outcome.run_id[:8]} success={outcome.success}, expected the opposite"
        )
    if outcome.skipped_duplicate or not outcome.success:
        return
    metadata = outcome.metadata["energy_series"]
    ctx.log(
        f"    {dataset} {day}: {metadata['points_written']} points in {metadata['batches_processed']} batch(es), "
        f"{metadata['dropped_rows']} dropped, InfluxDB {metadata['influxdb_health']} "
        f"({metadata['influxdb_response_time_ms']} ms)"
    )
    summary.rows += int(metadata["points_written"])


def run(ctx: DemoContext) -> DemoSummary:
    summary = DemoSummary(pipeline="energy_series")
    bucket = os.environ["SERIES_BUCKET"]
    s3 = boto3.client("s3")
    files = demo_energy_files(SAMPLE_DAY, ROWS)
    files[energy_key("transmission", BROKEN_DAY)] = _broken_file()
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ctx.log(f"put {len(files)} Parquet files into s3://{bucket}/processed/")

    requests = ctx.evaluate_sensor("energy_series_sensor")
    wanted = set(_expected_points()) | {("transmission", BROKEN_DAY)}
    requested = {_partition(request) for request in requests}
    if not wanted <= requested:
        raise DemoError(f"sensor did not request {sorted(wanted - requested)}")
    skipped = 0
    for request in requests:
        if _partition(request) not in wanted:
            continue  # files of other days left in the bucket by earlier sessions
        outcome = ctx.launch(request, JOB)
        _check_outcome(ctx, request, outcome, summary)
        summary.add(outcome)
        skipped += outcome.skipped_duplicate
    if skipped:
        summary.notes.append(f"{skipped} partition(s) already loaded by an earlier demo (same run keys)")

    # An S3 notification for a loaded file, replayed by hand: same object version, same run key, so no rerun.
    replay_key = energy_key("consumption", SAMPLE_DAY)
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": replay_key}}}]}
    (replayed,) = run_requests_for_event(event, EnergySeriesConfig(bucket=bucket))
    if not ctx.launch(replayed, JOB).skipped_duplicate:
        raise DemoError("replayed S3 event launched a second run for an unchanged file")
    summary.notes.append("replayed S3 event deduplicated by run key")

    influxdb = InfluxDBResource(
        url=os.environ["INFLUXDB_URL"],
        org=os.environ["INFLUXDB_ORG"],
        bucket=os.environ["INFLUXDB_BUCKET"],
        token=os.environ["INFLUXDB_TOKEN"],
    )
    readback = SeriesReadbackResource()
    for (dataset, day), expected in sorted(_expected_points().items()):
        start_ns, end_ns = day_bounds_ns(day)
        stored = readback.stored_points(influxdb, DATASETS[dataset], influxdb.bucket, start_ns, end_ns)
        ctx.log(
            f"  read back {DATASETS[dataset].measurement} {day}: {stored.points} points in {stored.series} series"
        )
        if stored.points != expected:
            raise DemoError(f"{dataset} {day}: {stored.points} points on the server, expected {expected}")
    summary.notes.append(
        f"read back {sum(_expected_points().values())} points from InfluxDB (InfluxQL count on /query)"
    )
    return summary
