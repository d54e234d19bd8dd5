"""The local payments/shipments API: a stdlib ThreadingHTTPServer over schema `external` (or a sandbox).

Contract (docs/CONTRACTS.md): `GET /payments|/shipments?since=&limit=&page_token=` with header `x-api-key`,
`200 {"data": [...], "next_page_token": ...}`, `401` on a bad key, `GET /health` -> 200. Two switches make
the bronze client's fallbacks testable against a real server: `ignore_since` (endpoints that return
everything, as a legacy service would) and `fail_first` (answer the first N data requests with 503/429).
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import psycopg2.errors

from deploy.local.source_api.records import (
    DEFAULT_SCHEMA,
    ENDPOINTS,
    BadRequest,
    Page,
    PageRequest,
    fetch_page,
    parse_page_request,
)

logger = logging.getLogger("deploy.local.source_api")
FAILURE_STATUSES = (HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS)


class ConnectionPool:
    """Read-only connections opened on first use and kept for reuse (psycopg2's pools close every
    connection above `minconn`, which would pay a login per request); a broken one is discarded."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._idle: queue.LifoQueue[psycopg2.extensions.connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = psycopg2.connect(self._dsn, options="-c TimeZone=UTC", connect_timeout=5)
                conn.set_session(readonly=True, autocommit=True)
            try:
                yield conn
            except psycopg2.Error:
                conn.close()
                raise
            if not conn.closed:
                self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class SourceApiServer(ThreadingHTTPServer):
    """Holds the key, the connection pool and the test switches; counts what it answered in `stats`."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        dsn: str,
        api_key: str,
        ignore_since: Iterable[str] = (),
        fail_first: int = 0,
        schema: str = DEFAULT_SCHEMA,
        max_connections: int = 8,
    ) -> None:
        unknown = set(ignore_since) - set(ENDPOINTS)
        if unknown:
            raise ValueError(
                f"ignore_since names unknown endpoints {sorted(unknown)}; known: {list(ENDPOINTS)}"
            )
        if not api_key:
            raise ValueError("api_key must not be empty")
        super().__init__(address, SourceApiHandler)
        self._api_key = api_key.encode()
        self.ignore_since = frozenset(ignore_since)
        self.schema = schema
        self.pool = ConnectionPool(dsn, max_connections)
        self._lock = threading.Lock()
        self.failures_left = fail_first
        self.stats: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def key_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._api_key)

    def take_failure(self) -> HTTPStatus | None:
        """The status to fail this request with while injected failures remain (503, 429, 503, ...)."""
        with self._lock:
            if self.failures_left <= 0:
                return None
            self.failures_left -= 1
            self.stats["injected_failures"] += 1
            return FAILURE_STATUSES[(self.stats["injected_failures"] - 1) % len(FAILURE_STATUSES)]

    def count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def server_close(self) -> None:
        super().server_close()
        self.pool.close()


class SourceApiHandler(BaseHTTPRequestHandler):
    server: SourceApiServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        endpoint = parts.path.strip("/")
        if endpoint == "health":
            self._send(HTTPStatus.OK, {"status": "ok"})
            return
        if endpoint not in ENDPOINTS:
            self._send(HTTPStatus.NOT_FOUND, {"message": f"no such endpoint /{endpoint[:64]}"})
            return
        failure = self.server.take_failure()
        if failure is not None:
            headers = {"Retry-After": "0"} if failure == HTTPStatus.TOO_MANY_REQUESTS else {}
            self._send(failure, {"message": f"injected failure ({failure.phrase})"}, headers)
            return
        if not self.server.key_matches(self.headers.get("x-api-key")):
            self.server.count("unauthorized")
            self._send(HTTPStatus.UNAUTHORIZED, {"message": "missing or invalid x-api-key"})
            return
        try:
            request = parse_page_request(parse_qs(parts.query), endpoint not in self.server.ignore_since)
            page = self._fetch(endpoint, request)
        except BadRequest as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"message": str(exc)})
            return
        except psycopg2.errors.UndefinedTable:
            message = f"table {self.server.schema}.{endpoint} does not exist: run `make seed`"
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"message": message})
            return
        except psycopg2.Error as exc:
            logger.warning("database error on /%s: %s", endpoint, type(exc).__name__)
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, {"message": f"database unavailable ({type(exc).__name__})"}
            )
            return
        self.server.count(endpoint)
        self._send(HTTPStatus.OK, {"data": page.records, "next_page_token": page.next_page_token})

    def _fetch(self, endpoint: str, request: PageRequest) -> Page:
        with self.server.pool.connection() as conn, conn.cursor() as cur:
            return fetch_page(cur, endpoint, request, self.server.schema)

    def _send(self, status: HTTPStatus, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        # Request line and status only: headers (the API key) are never logged.
        logger.info("%s %s", self.address_string(), format % args)


def serve_in_thread(
    dsn: str,
    api_key: str,
    port: int = 0,
    ignore_since: Iterable[str] = (),
    fail_first: int = 0,
    schema: str = DEFAULT_SCHEMA,
) -> tuple[SourceApiServer, str]:
    """Start the API on 127.0.0.1:`port` (0 = any free port) in a daemon thread; returns (server, base URL).
    `schema` holds the payments/shipments tables (a test sandbox seeded with `schema=`).
    Stop it with `server.shutdown(); server.server_close()`."""
    server = SourceApiServer(
        ("127.0.0.1", port), dsn, api_key, ignore_since=ignore_since, fail_first=fail_first, schema=schema
    )
    threading.Thread(target=server.serve_forever, name="source-api", daemon=True).start()
    return server, server.base_url
