"""No call can hang: PostgreSQL behind a proxy that stops answering mid-COPY, an API that stops mid-response
or pages forever, and the bounds every connection and client carries.

A call that should fail is run in a thread joined with a generous ceiling: the assertion is that it raised
the named error (an outcome), and the ceiling only keeps a regression from hanging the suite.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg2
import psycopg2.sql
import pytest

from ecom_pipeline.errors import ServiceUnavailableError
from resources.aws_clients import AwsClientResource
from resources.bronze.source_api import SourceApiResource
from resources.rds import DatabaseStalledError, DatabaseUnavailableError, RdsPostgresResource
from resources.secrets import SecretsManagerResource
from tests.resources.stalling_proxy import StallingProxy

CEILING_SECONDS = 120  # far above every bound configured below; reached only if a call hangs


def outcome(call: Callable[[], Any]) -> BaseException | Any:
    """What `call` returned or raised, or a failure if it was still running at the ceiling."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(CEILING_SECONDS)
    if thread.is_alive():
        pytest.fail(f"the call was still blocked after {CEILING_SECONDS}s: it hangs")
    return result[0]


@pytest.fixture
def proxy(source_creds) -> Iterator[StallingProxy]:
    proxy = StallingProxy(source_creds["host"], int(source_creds["port"]))
    yield proxy
    proxy.close()


# The server would end any statement after 10 s; the watchdog gives up after 10 + 1 s of silence. The margin
# keeps the server's own timeout out of the race on a loaded machine (the stall comes first, at the first row).
STATEMENT_TIMEOUT_MS, GRACE_SECONDS = 10_000, 1


@pytest.fixture
def rds_via_proxy(make_secret, source_creds, proxy) -> RdsPostgresResource:
    secret = make_secret({**source_creds, "host": "127.0.0.1", "port": proxy.port})
    return RdsPostgresResource(
        secrets=SecretsManagerResource(),
        secret_name=secret,
        statement_timeout_ms=STATEMENT_TIMEOUT_MS,
        stall_grace_seconds=GRACE_SECONDS,
    )


@pytest.fixture
def big_table(stack_env, unique) -> Iterator[str]:
    """About 40 MB of rows in a plain table: a sequential scan streams from the first row (a set-returning
    function would be materialized first, and the server's statement_timeout could end it before any row)."""
    name = f"hang_test_{unique}"
    with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
        cur.execute(
            psycopg2.sql.SQL(
                "CREATE TABLE {} AS SELECT g AS id, repeat('x', 200) AS note FROM generate_series(1, 200000) g"
            ).format(psycopg2.sql.Identifier(name))
        )
    yield name
    with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
        # The stalled COPY's server backend still holds a lock on the table (it waits to send into a proxy
        # that reads nothing): end it, or DROP TABLE waits for it forever.
        cur.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(psycopg2.sql.SQL("DROP TABLE {}").format(psycopg2.sql.Identifier(name)))


class _StallAfterFirstWrite:
    """The COPY's destination: after the first rows arrive, the proxy stops answering."""

    def __init__(self, proxy: StallingProxy) -> None:
        self.proxy, self.bytes = proxy, 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        self.proxy.stall()
        return len(data)


def test_copy_through_a_proxy_that_stops_answering_fails_naming_the_server(
    big_table, rds_via_proxy, proxy
) -> None:
    conn = rds_via_proxy.connect()
    sink = _StallAfterFirstWrite(proxy)

    def copy() -> None:
        with conn.cursor() as cursor:
            cursor.copy_expert(
                psycopg2.sql.SQL("COPY {} TO STDOUT").format(psycopg2.sql.Identifier(big_table)), sink
            )

    error = outcome(copy)
    assert isinstance(error, DatabaseStalledError), error
    assert f"127.0.0.1:{proxy.port}/" in str(error) and "sent nothing for 11s" in str(error)
    assert sink.bytes > 0  # it failed mid-COPY, not before it
    assert conn.closed or conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN
    assert rds_via_proxy.secrets.get_json(rds_via_proxy.secret_name)["password"] not in str(error)


def test_a_query_whose_answer_never_comes_fails_instead_of_waiting(rds_via_proxy, proxy) -> None:
    conn = rds_via_proxy.connect()
    proxy.stall()

    def query() -> Any:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    assert isinstance(outcome(query), DatabaseStalledError)


def test_a_commit_whose_answer_never_comes_fails_instead_of_waiting(rds_via_proxy, proxy) -> None:
    conn = rds_via_proxy.connect()
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1")  # opens the transaction
    proxy.stall()
    assert isinstance(outcome(conn.commit), DatabaseStalledError)


def test_a_slow_consumer_is_not_mistaken_for_a_silent_server(make_secret, source_creds) -> None:
    """The watchdog counts the server's silence only: a destination slower than the bound is fine. The
    destination is a buffered writer, like bronze's pipe (it has a `read` that raises: still a destination)."""
    rds = RdsPostgresResource(
        secrets=SecretsManagerResource(),
        secret_name=make_secret(source_creds),
        statement_timeout_ms=2000,
        stall_grace_seconds=1,
    )
    conn = rds.connect()
    writes: list[int] = []

    class SlowSink(io.BufferedWriter):
        def write(self, data: bytes) -> int:
            if not writes:
                threading.Event().wait(3.5)  # longer than statement_timeout + grace, inside one write
            writes.append(len(data))
            return super().write(data)

    sink = SlowSink(io.BytesIO())
    with conn.cursor() as cursor:
        cursor.copy_expert("COPY (SELECT g FROM generate_series(1, 1000) g) TO STDOUT", sink)
    assert len(writes) == 1000
    conn.close()


def test_connections_carry_statement_timeout_and_tcp_bounds(make_secret, source_creds) -> None:
    rds = RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=make_secret(source_creds))
    conn = rds.connect()
    try:
        params = conn.get_dsn_parameters()
        assert params["keepalives"] == "1" and params["keepalives_idle"] == "30"
        assert params["keepalives_interval"] == "10" and params["keepalives_count"] == "3"
        assert params["tcp_user_timeout"] == "60000"
        with conn.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("10min",)
            cursor.execute("SELECT pg_sleep(0.5)")  # a statement inside the bound runs
    finally:
        conn.close()
    short = RdsPostgresResource(
        secrets=SecretsManagerResource(), secret_name=rds.secret_name, statement_timeout_ms=200
    )
    conn = short.connect()
    try:
        with pytest.raises(psycopg2.errors.QueryCanceled, match="statement timeout"):
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(5)")
    finally:
        conn.close()


def test_sslmode_comes_from_libpq_environment_when_unset(
    make_secret, source_creds, monkeypatch, tmp_path
) -> None:
    """The AWS image sets PGSSLMODE=verify-full; the resource must not override it with its own default.
    The local server has no TLS, so verify-full refuses to connect: proof that the setting took effect."""
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / "bundle.pem"))
    (tmp_path / "bundle.pem").write_text("")
    rds = RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=make_secret(source_creds))
    with pytest.raises(DatabaseUnavailableError, match="cannot connect to PostgreSQL"):
        rds.connect()
    monkeypatch.delenv("PGSSLMODE")
    monkeypatch.delenv("PGSSLROOTCERT")
    rds.connect().close()  # locally (unset): libpq's prefer


# --- the source API ------------------------------------------------------------------------------------


class _ApiServer:
    """A local HTTP server whose behaviour a test chooses: 'stall' (headers, half a body, then silence),
    'silent' (accepts, never answers), 'endless' (a new next_page_token forever), 'loop' (the same token)."""

    def __init__(self, mode: str) -> None:
        self.mode, self.requests, self._release = mode, 0, threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests += 1
                page = int(parse_qs(urlparse(self.path).query).get("page_token", ["0"])[0])
                if server.mode == "silent":
                    server._release.wait(CEILING_SECONDS)
                    return
                body = json.dumps(
                    {
                        "data": [{"id": page, "updated_at": "2026-06-10T01:00:00Z"}],
                        "next_page_token": str(page + 1) if server.mode == "endless" else "7",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.mode == "stall":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server._release.wait(CEILING_SECONDS)
                    return
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/payments"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def api_server(request) -> Iterator[_ApiServer]:
    server = _ApiServer(request.param)
    yield server
    server.close()


@pytest.fixture
def api_key_secret(make_secret) -> str:
    return make_secret({"api_key": "k-test"})


def _api(server: _ApiServer, secret: str, **overrides: Any) -> SourceApiResource:
    values = {
        "payments_url": server.url,
        "shipments_url": server.url,
        "api_key_secret_name": secret,
        "secrets": SecretsManagerResource(),
        "timeout_seconds": 1.0,
        "max_retries": 1,
        "backoff_base_seconds": 0.01,
        **overrides,
    }
    return SourceApiResource(**values)


SINCE = datetime(2026, 6, 10, tzinfo=UTC)


@pytest.mark.parametrize("api_server", ["stall", "silent"], indirect=True)
def test_an_api_that_stops_answering_fails_after_the_bounded_retries(api_server, api_key_secret) -> None:
    api = _api(api_server, api_key_secret)
    error = outcome(lambda: list(api.fetch_since("payments", SINCE)))
    assert isinstance(error, ServiceUnavailableError), error
    assert f"{api_server.url} unavailable after 1 retries" in str(error)
    assert api_server.requests == 2  # the first attempt and one retry, each cut off by its deadline


@pytest.mark.parametrize("api_server", ["endless"], indirect=True)
def test_the_pager_stops_at_max_pages(api_server, api_key_secret) -> None:
    api = _api(api_server, api_key_secret, max_pages=5)
    pages: list[list[dict]] = []
    with pytest.raises(ServiceUnavailableError, match="still had a next page after max_pages=5 pages"):
        for page in api.fetch_since("payments", SINCE):
            pages.append(page)
    assert len(pages) == 5 and api_server.requests == 5


@pytest.mark.parametrize("api_server", ["loop"], indirect=True)
def test_a_page_token_seen_twice_is_a_loop(api_server, api_key_secret) -> None:
    api = _api(api_server, api_key_secret)
    with pytest.raises(ServiceUnavailableError, match="returned page token '7' twice"):
        list(api.fetch_since("payments", SINCE))
    assert api_server.requests == 2


# --- AWS clients ---------------------------------------------------------------------------------------


def test_aws_clients_carry_connect_and_read_timeouts(stack_env) -> None:
    config = AwsClientResource(connect_timeout_seconds=2, read_timeout_seconds=7).client("s3").meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 7)
    default = AwsClientResource().dynamodb_resource().meta.client.meta.config
    assert (default.connect_timeout, default.read_timeout) == (5.0, 60.0)


def test_an_aws_endpoint_that_never_answers_fails_within_the_bound(stack_env) -> None:
    """A listener that accepts and never replies: the read timeout and the bounded retries end the call."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = AwsClientResource(endpoint_url=endpoint, read_timeout_seconds=1, max_attempts=2).client("s3")
        error = outcome(lambda: client.list_buckets())
    assert "Read timeout on endpoint URL" in str(error), error
