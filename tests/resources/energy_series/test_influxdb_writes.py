"""The write policy with the real InfluxDB resource against the real influxd: its answers drive retry and
fallback. 5xx and 429 come from a small local stand-in (influxd never answers them on demand)."""

import os
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pyarrow as pa
import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import LineProtocol, to_line_protocol
from ecom_pipeline.energy_series.partition_day import day_bounds_ns
from ecom_pipeline.energy_series.readback import summarize_counts
from ecom_pipeline.energy_series.write_policy import RetrySettings, WriteUnavailableError, write_in_batches
from ecom_pipeline.errors import BadRequestError, ServiceUnavailableError
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource
from tests.assets.energy_series.sandbox import closed_port_url
from tests.ecom_pipeline.energy_series.tables import DAY, series_rows, series_table
from tests.resources.energy_series.private_influxd import TOKEN, private_influxd

SPEC = DATASETS["transmission"]
ERRORS = {"transient": (ServiceUnavailableError,), "rejected": (BadRequestError,)}


def influxdb(url: str | None = None) -> InfluxDBResource:
    return InfluxDBResource(
        url=url or os.environ["INFLUXDB_URL"],
        org=os.environ["INFLUXDB_ORG"],
        bucket=f"test_series_write_{uuid.uuid4().hex[:10]}",
        token=os.environ["INFLUXDB_TOKEN"],
        timeout_ms=2_000,
    )


def test_connection_refused_is_retried_with_backoff_then_unavailable(stack_env):
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 3)), SPEC)
    sleeps: list[float] = []
    with pytest.raises(WriteUnavailableError, match="unavailable after 2 retries") as caught:
        write_in_batches(
            points,
            influxdb(closed_port_url()).write_lines,
            batch_size=1000,
            retry=RetrySettings(max_retries=2, backoff_seconds=0.05),
            sleep=sleeps.append,
            **ERRORS,
        )
    assert sleeps == [0.05, 0.1] and caught.value.report.retries == 2
    assert isinstance(caught.value.__cause__, ServiceUnavailableError)


def raw_points(lines: list[bytes]) -> LineProtocol:
    """Hand-written lines as a LineProtocol, for lines the converter would never produce."""
    data = b"".join(line + b"\n" for line in lines)
    offsets = np.cumsum([0] + [len(line) + 1 for line in lines]).astype(np.int64)
    return LineProtocol(memoryview(data), offsets, np.zeros(len(lines), np.int64), 0)


def count(resource: InfluxDBResource, measurement: str = SPEC.measurement) -> int:
    start, end = day_bounds_ns(DAY.date())
    spec = DATASETS["transmission"] if measurement == SPEC.measurement else None
    if spec is None:
        answer = resource.query(f'SELECT count(*) FROM "{measurement}"')
        return summarize_counts(answer).points
    return SeriesReadbackResource().stored_points(resource, spec, resource.bucket, start, end).points


def test_a_malformed_line_is_refused_alone_with_the_servers_reason(stack_env):
    resource = influxdb()
    lines = [f"m,site=s{i} v={i}.5 {1772323200000000000 + i}".encode() for i in range(6)]
    lines[3] = b"m,site=s3 v= 1772323200000000003"  # no field value
    report = write_in_batches(
        raw_points(lines), resource.write_lines, batch_size=6, retry=RetrySettings(max_retries=0), **ERRORS
    )
    assert (report.points_written, report.rejected_count, report.failed_batches) == (5, 1, 1)
    assert report.rejected[0].index == 3 and "unable to parse" in report.rejected[0].error
    assert count(resource, "m") == 5


def test_a_field_type_conflict_is_refused_alone_while_its_batch_lands(stack_env):
    resource = influxdb()
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 8)), SPEC)
    write_in_batches(points, resource.write_lines, batch_size=8, retry=RetrySettings(max_retries=0), **ERRORS)
    later = [
        f"transmission_data,line_id=late{i} flow_mw={i}.5 {1772323200000000000 + i}".encode()
        for i in range(4)
    ]
    later[2] = b"transmission_data,line_id=late2 flow_mw=7i 1772323200000000002"  # flow_mw holds floats
    report = write_in_batches(
        raw_points(later), resource.write_lines, batch_size=4, retry=RetrySettings(max_retries=0), **ERRORS
    )
    assert (report.points_written, report.rejected_count) == (3, 1)
    error = report.rejected[0].error
    assert report.rejected[0].index == 2 and "field type conflict" in error and "flow_mw" in error
    assert count(resource) == 8 + 3


def test_integer_then_float_columns_of_one_field_both_land(stack_env):
    """The declared field type (float) is what reaches the server, whatever type the column arrives in."""
    resource = influxdb()
    rows = series_rows("transmission", 6)
    as_int = series_table("transmission", rows[:3])
    as_int = as_int.set_column(
        as_int.schema.get_field_index("flow_mw"), "flow_mw", pa.array([1, 2, 3], pa.int64())
    )
    for table in (as_int, series_table("transmission", rows[3:])):
        report = write_in_batches(
            to_line_protocol(table, SPEC),
            resource.write_lines,
            batch_size=10,
            retry=RetrySettings(0),
            **ERRORS,
        )
        assert report.rejected_count == 0 and report.points_written == 3
    answer = resource.query('SELECT count(flow_mw) FROM "transmission_data"')
    assert answer["results"][0]["series"][0]["values"][0][1] == 6


def test_server_killed_mid_write_records_progress_and_the_retry_writes_nothing_twice(stack_env, tmp_path):
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 50)), SPEC)
    with private_influxd(tmp_path) as server:
        resource = influxdb(server.proxy_url).model_copy(update={"token": TOKEN})
        calls = []

        def write_then_crash(payload: bytes) -> None:
            calls.append(len(payload))
            if len(calls) == 3:  # two batches acknowledged, then the server dies under the third
                server.stop()
            resource.write_lines(payload)

        with pytest.raises(WriteUnavailableError) as caught:
            write_in_batches(
                points,
                write_then_crash,
                batch_size=10,
                retry=RetrySettings(max_retries=2, backoff_seconds=0.01),
                **ERRORS,
            )
        assert caught.value.report.points_written == 20  # the progress made before the crash
        assert server.start() == "started"
        assert count(resource) == 20  # acknowledged points survived the kill (WAL)

        report = write_in_batches(
            points, resource.write_lines, batch_size=10, retry=RetrySettings(0), **ERRORS
        )
        assert report.points_written == 50
        start, end = day_bounds_ns(DAY.date())
        stored = SeriesReadbackResource().stored_points(
            resource, SPEC, resource.bucket, start, end, keep_values=True
        )
        assert stored.points == 50 and stored.field_values == {name: 50 for name in SPEC.fields}
        first = series_rows("transmission", 1)[0]
        tags = tuple(sorted((tag, first[tag]) for tag in SPEC.tags))
        assert stored.values[("flow_mw", tags, start)] == first["flow_mw"]  # rewritten, not added


class _Answering(BaseHTTPRequestHandler):
    """Answers the first `failures` writes with `status`, then 204; counts them."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        server.calls += 1  # type: ignore[attr-defined]
        status = server.status if server.calls <= server.failures else 204  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def answering(status: int, failures: int):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    server.status, server.failures, server.calls = status, failures, 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [503, 500, 429])
def test_5xx_and_429_are_retried_with_backoff_then_succeed(stack_env, status):
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 3)), SPEC)
    with answering(status, failures=2) as (server, url):
        sleeps: list[float] = []
        report = write_in_batches(
            points,
            influxdb(url).write_lines,
            batch_size=1000,
            retry=RetrySettings(max_retries=3, backoff_seconds=0.05),
            sleep=sleeps.append,
            **ERRORS,
        )
    assert (report.points_written, report.retries, server.calls) == (3, 2, 3)
    assert sleeps == [0.05, 0.1]


@pytest.mark.parametrize("status", [503, 429])
def test_5xx_and_429_that_persist_end_as_unavailable(stack_env, status):
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 3)), SPEC)
    with answering(status, failures=100) as (server, url):
        sleeps: list[float] = []
        with pytest.raises(WriteUnavailableError, match=f"HTTP {status}") as caught:
            write_in_batches(
                points,
                influxdb(url).write_lines,
                batch_size=1000,
                retry=RetrySettings(max_retries=2, backoff_seconds=0.05),
                sleep=sleeps.append,
                **ERRORS,
            )
    assert sleeps == [0.05, 0.1] and server.calls == 3
    assert caught.value.report.points_written == 0
