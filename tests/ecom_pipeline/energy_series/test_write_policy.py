"""The write policy against an in-test server stand-in: a plain function with a scripted outcome per call."""

import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import to_line_protocol
from ecom_pipeline.energy_series.write_policy import (
    RetrySettings,
    WriteUnavailableError,
    write_in_batches,
    write_stream,
)

from .tables import series_rows, series_table


class Down(Exception):
    pass


class Refused(Exception):
    pass


def points(count, dataset="generation"):
    return to_line_protocol(series_table(dataset, series_rows(dataset, count)), DATASETS[dataset])


class ScriptedServer:
    """Stores accepted lines; refuses payloads containing a poisoned line; is down for `down_calls` calls."""

    def __init__(self, poisoned: set[bytes] = frozenset(), down_calls: int = 0):
        self.poisoned, self.down_calls = poisoned, down_calls
        self.stored: list[bytes] = []
        self.calls = 0

    def write(self, payload: bytes) -> None:
        self.calls += 1
        if self.calls <= self.down_calls:
            raise Down("connection refused")
        lines = payload.splitlines(keepends=True)
        if any(line in self.poisoned for line in lines):
            raise Refused("unable to parse 'x': invalid field format")
        self.stored.extend(lines)


def run(pts, server, sleeps, **overrides):
    settings = dict(batch_size=3, retry=RetrySettings(max_retries=3, backoff_seconds=0.5))
    settings.update(overrides)
    return write_in_batches(
        pts, server.write, transient=(Down,), rejected=(Refused,), sleep=sleeps.append, **settings
    )


def test_batches_of_the_configured_size():
    pts, server, sleeps = points(7), ScriptedServer(), []
    report = run(pts, server, sleeps)
    assert (report.points_written, report.batches_processed, report.failed_batches) == (7, 3, 0)
    assert server.calls == 3 and b"".join(server.stored) == pts.lines(0, 7)
    assert report.success_rate == 1.0 and sleeps == []


def test_transient_errors_are_retried_with_exponential_backoff():
    pts, server, sleeps = points(2), ScriptedServer(down_calls=3), []
    report = run(pts, server, sleeps)
    assert report.points_written == 2 and report.retries == 3
    assert sleeps == [0.5, 1.0, 2.0]


def test_unavailable_after_the_last_retry_keeps_the_partial_report():
    pts, server, sleeps = points(6), ScriptedServer(down_calls=100), []
    with pytest.raises(WriteUnavailableError, match="unavailable after 3 retries") as caught:
        run(pts, server, sleeps)
    assert caught.value.report.points_written == 0 and server.calls == 4 and len(sleeps) == 3


def test_refused_batch_falls_back_to_one_point_at_a_time():
    pts = points(7)
    bad = pts.line(4)
    server, sleeps = ScriptedServer(poisoned={bad}), []
    report = run(pts, server, sleeps)
    assert report.points_written == 6 and report.rejected_count == 1
    assert report.failed_batches == 1 and report.batches_processed == 3
    assert report.success_rate == pytest.approx(2 / 3)
    assert report.rejected[0].index == 4 and "invalid field format" in report.rejected[0].error
    assert bad not in server.stored and len(server.stored) == 6
    assert sleeps == []  # a refusal is never retried as such


def test_stream_of_chunks_writes_everything_in_order_with_stream_wide_indices():
    chunks = [points(5), points(4, "consumption")]
    bad = chunks[1].line(2)
    server = ScriptedServer(poisoned={bad})
    report = write_stream(
        iter(chunks),
        server.write,
        batch_size=3,
        retry=RetrySettings(max_retries=1, backoff_seconds=0),
        transient=(Down,),
        rejected=(Refused,),
    )
    assert report.points_written == 8 and report.batches_processed == 4 and report.failed_batches == 1
    assert report.rejected[0].index == 5 + 2
    expected = [line for chunk in chunks for line in chunk.lines(0, len(chunk)).splitlines(keepends=True)]
    assert server.stored == [line for line in expected if line != bad]


def test_stream_stops_when_the_server_stays_down():
    server = ScriptedServer(down_calls=100)
    with pytest.raises(WriteUnavailableError):
        write_stream(
            iter([points(2), points(2)]),
            server.write,
            batch_size=3,
            retry=RetrySettings(max_retries=1, backoff_seconds=0),
            transient=(Down,),
            rejected=(Refused,),
        )
    assert server.calls == 2 and server.stored == []
