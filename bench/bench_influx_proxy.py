"""Cost of the InfluxDB token proxy in the time-series write path.

Writes the same line protocol batches (a) straight to influxd's v1 `/write` - the fastest plain path for
this I/O here - and (b) through the proxy's `/api/v2/write` on INFLUXDB_URL with the token, both with one
keep-alive session, then (c) through influxdb-client's synchronous WriteApi as the pipeline does. Prints
rows/s, the ratio to (a), peak RSS of this process and of the proxy, and checks every row arrived
(InfluxQL count through the proxy).

Run against the stack (`set -a; . .local/stack.env; set +a`):
    .venv/bin/python bench/bench_influx_proxy.py --rows 1000000 --batch 5000
    .venv/bin/python bench/bench_influx_proxy.py --rows 20000          # smoke run
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid
from pathlib import Path

import requests
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def make_batches(rows: int, batch: int) -> list[bytes]:
    """`rows` distinct points (1 s apart, 10 sites) as line protocol, `batch` lines per request body."""
    lines = [
        f"generation_data,site=s{i % 10},source=wind power_mw={i % 997 / 10},capacity_mw=20i "
        f"{BASE_NS + i * 1_000_000_000}"
        for i in range(rows)
    ]
    return ["\n".join(lines[start : start + batch]).encode() for start in range(0, rows, batch)]


def post_batches(url: str, bucket: str, batches: list[bytes], token: str | None) -> float:
    """With a token: the proxy's v2 write; without: influxd's own v1 `/write` (its database created first)."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    if token:
        path, params = "/api/v2/write", {"org": "ecom", "bucket": bucket, "precision": "ns"}
    else:
        requests.post(
            f"{url}/query", params={"q": f'CREATE DATABASE "{bucket}"'}, timeout=30
        ).raise_for_status()
        path, params = "/write", {"db": bucket, "precision": "n"}
    started = time.perf_counter()
    with requests.Session() as session:
        for body in batches:
            response = session.post(f"{url}{path}", params=params, data=body, headers=headers, timeout=60)
            if response.status_code != 204:
                raise RuntimeError(f"write failed: HTTP {response.status_code} {response.text[:200]}")
    return time.perf_counter() - started


def client_write(url: str, token: str, bucket: str, batches: list[bytes]) -> float:
    started = time.perf_counter()
    with InfluxDBClient(url=url, token=token, org="ecom", timeout=60_000) as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        for body in batches:
            write_api.write(bucket=bucket, record=body, write_precision=WritePrecision.NS)
    return time.perf_counter() - started


def stored_points(influx_url: str, token: str, bucket: str) -> int:
    response = requests.get(
        f"{influx_url}/query",
        params={"db": bucket, "q": 'SELECT count(power_mw) FROM "generation_data"'},
        headers={"Authorization": f"Token {token}"},
        timeout=120,
    )
    response.raise_for_status()
    series = response.json()["results"][0].get("series") or [{"values": [[0, 0]]}]
    return int(series[0]["values"][0][1])


def proxy_peak_rss_mb() -> float | None:
    pid_file = Path(os.environ.get("ECOM_STACK_DIR", ".local")) / "run" / "influx-proxy.pid"
    try:
        status = Path(f"/proc/{pid_file.read_text().strip()}/status").read_text()
    except OSError:
        return None
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    influxd_url, influx_url, token = (
        f"http://127.0.0.1:{os.environ['ECOM_INFLUXD_PORT']}",
        os.environ["INFLUXDB_URL"],
        os.environ["INFLUXDB_TOKEN"],
    )
    batches = make_batches(args.rows, args.batch)
    run = uuid.uuid4().hex[:8]
    results = {}
    for label, write in (
        ("direct influxd /write (baseline)", lambda b: post_batches(influxd_url, b, batches, None)),
        ("through token proxy", lambda b: post_batches(influx_url, b, batches, token)),
        ("influxdb-client via proxy", lambda b: client_write(influx_url, token, b, batches)),
    ):
        bucket = f"bench-{run}-{len(results)}"
        seconds = write(bucket)
        stored = stored_points(influx_url, token, bucket)
        if stored != args.rows:
            raise SystemExit(f"{label}: {stored} of {args.rows} points stored")
        results[label] = seconds
    baseline = next(iter(results.values()))
    print(f"rows={args.rows} batch={args.batch} ({len(batches)} requests); every point counted with InfluxQL")
    for label, seconds in results.items():
        print(
            f"{label:<36} {seconds:7.2f} s  {args.rows / seconds:>10,.0f} rows/s  ratio {seconds / baseline:5.2f}"
        )
    print(f"peak RSS: bench {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, ", end="")
    proxy = proxy_peak_rss_mb()
    print(f"proxy {proxy:.0f} MB" if proxy is not None else "proxy n/a")


if __name__ == "__main__":
    main()
