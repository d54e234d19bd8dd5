"""One day of generation data through `energy_series`, against the fastest plain path for the same writes.

`python -m bench.energy_series --rows 1000000` (make bench-energy-series; needs the local stack's environment).

- conversion: validation + column-wise line protocol on the Arrow table (best of `--repeat`), and
  influxdb-client's DataframeSerializer on `--serializer-rows` rows of the same data, for comparison;
- plain: the same points, pre-serialised as line protocol, posted by influxdb-client's synchronous write API
  in batches of `--batch-size` (the loader's default, 1000);
- pipeline: the `energy_series` asset materialized in process for that partition (S3 read, validation,
  conversion, health check, batched writes, CloudWatch metrics), then its read-back checks (InfluxQL count
  on `/query`, bounded wait). The ratio uses the asset's own processing time (read to last write); the
  wall time with Dagster and checks is printed too;
- memory: the asset alone in a fresh process on `--rss-rows` rows and on `--rss-factor` times as many; its
  peak RSS must stay within 20% (files are streamed batch by batch, never held whole).

Writes go to throwaway InfluxDB buckets (influxd databases, dropped afterwards) and a throwaway S3 bucket.
Prints points/s, the ratio pipeline / plain (goal <= 1.15), conversion points/s (goal >= 1,000,000) and peak
RSS; exits non-zero when a check of a pipeline run fails or memory grows with the input.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import requests
from dagster import DagsterInstance, MultiPartitionKey, materialize
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write.dataframe_serializer import DataframeSerializer
from influxdb_client.client.write_api import SYNCHRONOUS, PointSettings

from assets.energy_series.assets import energy_series
from bench.report import RoundResult, append_record
from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.sources.energy_files import energy_key, energy_parquet
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import to_line_protocol
from ecom_pipeline.energy_series.schema import normalize_time_column
from ecom_pipeline.energy_series.validation import validate_rows
from resources import build_resources
from resources.energy_series.config import EnergySeriesConfig
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource

DAY = date(2026, 2, 1)
SPEC = DATASETS["generation"]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _token() -> str:
    if os.environ.get("INFLUXDB_TOKEN"):
        return os.environ["INFLUXDB_TOKEN"]
    from resources.secrets import SecretsManagerResource

    return SecretsManagerResource().get_json(os.environ["INFLUXDB_TOKEN_SECRET_NAME"])["token"]


def _convert(table: pa.Table):
    table = normalize_time_column(table, SPEC, "bench")
    valid = validate_rows(table, SPEC, "bench", drop_invalid=True).valid
    return to_line_protocol(valid, SPEC, "bench")


def bench_conversion(table: pa.Table, repeat: int) -> tuple[float, object]:
    best, points = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        points = _convert(table)
        best = min(best, time.perf_counter() - started)
    return best, points


def bench_serializer(table: pa.Table, rows: int) -> float:
    frame = table.slice(0, rows).to_pandas().set_index("timestamp")
    started = time.perf_counter()
    DataframeSerializer(
        frame,
        PointSettings(),
        precision=WritePrecision.NS,
        data_frame_measurement_name=SPEC.measurement,
        data_frame_tag_columns=list(SPEC.tags),
    ).serialize()
    return time.perf_counter() - started


def bench_plain_write(points, batch_size: int, bucket: str) -> float:
    payloads = [points.lines(start, stop) for start, stop in points.batches(batch_size)]
    client = InfluxDBClient(url=os.environ["INFLUXDB_URL"], token=_token(), org=os.environ["INFLUXDB_ORG"])
    write_api = client.write_api(write_options=SYNCHRONOUS)
    started = time.perf_counter()
    for payload in payloads:
        write_api.write(bucket=bucket, record=payload, write_precision=WritePrecision.NS)
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def bench_pipeline(
    s3_bucket: str, influx_bucket: str, batch_size: int, day: date = DAY
) -> tuple[float, dict, dict]:
    """Materialize the asset for (generation, day) in this process; its checks read the points back."""
    resources = build_resources() | {
        "influxdb": InfluxDBResource(
            url=os.environ["INFLUXDB_URL"],
            org=os.environ["INFLUXDB_ORG"],
            bucket=influx_bucket,
            token=_token(),
        ),
        "energy_series_config": EnergySeriesConfig(bucket=s3_bucket, batch_size=batch_size),
        "energy_series_readback": SeriesReadbackResource(),
    }
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = materialize(
            [energy_series],
            partition_key=MultiPartitionKey({"dataset": "generation", "date": day.isoformat()}),
            resources=resources,
            instance=instance,
        )
        wall = time.perf_counter() - started
        if os.environ.get("BENCH_SERIES_EVENTS"):  # where the wall time goes, event by event
            logs = instance.all_logs(result.run_id)
            for entry in logs:
                kind = (
                    entry.dagster_event.event_type_value if entry.dagster_event else entry.user_message[:60]
                )
                print(f"    {entry.timestamp - logs[0].timestamp:8.3f}s {kind}")
    (event,) = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return wall, metadata, checks


def _drop_series(influx_buckets: list[str]) -> None:
    """DROP DATABASE of each throwaway bucket, through the proxy's `/query` with the token."""
    for bucket in influx_buckets:
        requests.post(
            f"{os.environ['INFLUXDB_URL']}/query",
            params={"q": f'DROP DATABASE "{bucket}"'},
            headers={"Authorization": f"Token {_token()}"},
            timeout=60,
        )


def pipeline_peak_rss(s3_bucket: str, influx_bucket: str, day: date) -> tuple[float, dict, dict]:
    """The asset alone in a fresh process: (peak RSS MiB, materialization metadata, checks)."""
    argv = [sys.executable, "-m", "bench.energy_series", "--child", s3_bucket, influx_bucket, day.isoformat()]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"pipeline child failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["peak_rss_mib"], answer["metadata"], answer["checks"]


def _own_peak_rss_mib() -> float:
    """VmHWM of this process image: unlike ru_maxrss, it does not carry the parent's peak across exec."""
    status = open("/proc/self/status").read().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _child(s3_bucket: str, influx_bucket: str, day: str) -> None:
    _, metadata, checks = bench_pipeline(s3_bucket, influx_bucket, 1000, date.fromisoformat(day))
    keep = {k: metadata[k] for k in ("points_written", "input_rows", "processing_time_seconds")}
    print(json.dumps({"peak_rss_mib": _own_peak_rss_mib(), "metadata": keep, "checks": checks}))


def bench_memory(s3, s3_bucket: str, rows: int, factor: int, unique: str, influx_buckets: list[str]) -> None:
    """Peak RSS of the asset on `rows` and on `factor` x `rows` input rows (two partitions, one file each)."""
    peaks = []
    for offset, count in ((1, rows), (2, rows * factor)):
        day = DAY + timedelta(days=offset)
        s3.put_object(
            Bucket=s3_bucket, Key=energy_key("generation", day), Body=energy_parquet("generation", day, count)
        )
        influx_buckets.append(f"bench_rss_{unique}_{offset}")
        peak, metadata, checks = pipeline_peak_rss(s3_bucket, influx_buckets[-1], day)
        if int(metadata["points_written"]) != count or not all(checks.values()):
            raise SystemExit(f"memory run on {count:,} rows: {metadata}, checks {checks}")
        peaks.append(peak)
        print(
            f"  pipeline alone on {count:,} rows: peak RSS {peak:.0f} MiB ({metadata['processing_time_seconds']}s)"
        )
    growth = peaks[1] / peaks[0] - 1
    print(f"peak RSS growth from 1x to {factor}x input: {growth:+.1%} (goal within 20%)")
    if abs(growth) > 0.20:
        raise SystemExit("peak RSS grew with the input by more than 20%")


def main() -> None:
    parser = argparse.ArgumentParser(description="energy_series benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of conversion and of plain/pipeline writes"
    )
    parser.add_argument("--serializer-rows", type=int, default=100_000, help="0 skips DataframeSerializer")
    parser.add_argument("--rss-rows", type=int, default=200_000, help="1x input of the memory runs; 0 skips")
    parser.add_argument("--rss-factor", type=int, default=10)
    parser.add_argument("--record", help="append each round's result (bench/report.py) to this file")
    parser.add_argument(
        "--child", nargs=3, metavar=("S3_BUCKET", "INFLUX_BUCKET", "DAY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    unique = uuid.uuid4().hex[:8]
    s3_bucket = f"bench-series-{unique}"
    influx_buckets: list[str] = []
    body = energy_parquet("generation", DAY, args.rows)
    table = pq.read_table(pa.BufferReader(body))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=s3_bucket)
    s3.put_object(Bucket=s3_bucket, Key=energy_key("generation", DAY), Body=body)
    print(f"{args.rows:,} generation rows, Parquet {len(body) / 2**20:.1f} MiB, batch size {args.batch_size}")
    try:
        convert_s, points = bench_conversion(table, args.repeat)
        print(
            f"conversion (validate + line protocol), best of {args.repeat}: {convert_s:.3f}s  "
            f"{len(points) / convert_s:,.0f} points/s (goal >= 1,000,000)"
        )
        if args.serializer_rows:
            rows = min(args.serializer_rows, args.rows)
            serializer_s = bench_serializer(table, rows)
            print(
                f"influxdb-client DataframeSerializer: {rows / serializer_s:,.0f} points/s on {rows:,} rows"
            )

        # Plain and pipeline rounds alternate, so load from other processes hits both alike.
        plain, pipeline, walls = [], [], []
        for round_ in range(args.repeat):
            influx_buckets += [f"bench_plain_{unique}_{round_}", f"bench_pipe_{unique}_{round_}"]
            plain.append(bench_plain_write(points, args.batch_size, influx_buckets[-2]))
            wall_s, metadata, checks = bench_pipeline(s3_bucket, influx_buckets[-1], args.batch_size)
            if not all(checks.values()):
                raise SystemExit(f"round {round_ + 1}: a check of the pipeline run failed: {checks}")
            pipeline.append(float(metadata["processing_time_seconds"]))
            walls.append(wall_s)
            if int(metadata["points_written"]) != len(points):
                raise SystemExit(
                    f"pipeline wrote {metadata['points_written']} points, expected {len(points)}"
                )
            phases = ", ".join(
                f"{k[8:]} {metadata[k]}s" for k in sorted(metadata) if k.startswith("seconds_")
            )
            print(
                f"  round {round_ + 1}: plain {plain[-1]:.3f}s, pipeline {pipeline[-1]:.3f}s "
                f"({phases}; wall {wall_s:.3f}s)"
            )
            if args.record:
                append_record(
                    args.record,
                    RoundResult(
                        pipeline="energy_series",
                        workload=f"one day of generation -> InfluxDB, {len(points):,} points",
                        rows=len(points),
                        plain_s=plain[-1],
                        pipeline_s=pipeline[-1],
                        peak_rss_mb=_peak_rss_mib(),
                        goal="<= 1.15x at 1,000,000 points",
                        goal_max_ratio=1.15,
                        min_rows=1_000_000,  # the size; a smaller run is a smoke run
                    ),
                )
        n = len(points)
        print(
            f"plain write (pre-serialised, influxdb-client): best {min(plain):.3f}s  {n / min(plain):,.0f} points/s; "
            f"median {statistics.median(plain):.3f}s"
        )
        print(
            f"pipeline (energy_series asset, S3 read to last write): best {min(pipeline):.3f}s  "
            f"{n / min(pipeline):,.0f} points/s; median {statistics.median(pipeline):.3f}s"
        )
        print(
            f"ratio pipeline / plain: best {min(pipeline) / min(plain):.2f}, median "
            f"{statistics.median(pipeline) / statistics.median(plain):.2f} (goal <= 1.15)"
        )
        print(f"last pipeline run with Dagster and read-back checks: wall {walls[-1]:.3f}s; checks {checks}")
        print(f"peak RSS of this process (bench data + in-process runs): {_peak_rss_mib():.0f} MiB")
        if args.rss_rows:
            bench_memory(s3, s3_bucket, args.rss_rows, args.rss_factor, unique, influx_buckets)
    finally:
        _drop_series(influx_buckets)
        delete_bucket(s3, s3_bucket)
    from bench.seed_baselines import SEED_WAY_SAMPLE_ROWS, energy_series_seed_way, print_seed_way

    sample = min(args.rows, SEED_WAY_SAMPLE_ROWS)
    print_seed_way(
        args.rows, statistics.median(pipeline), sample, energy_series_seed_way, sample, args.batch_size
    )


if __name__ == "__main__":
    main()
