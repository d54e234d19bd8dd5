"""InfluxDB-v2-style token check and v2 write API in front of influxd 1.x (`influxd_server.py`).

influxd 1.6 has no v2 API and no tokens. This proxy checks `Authorization: Token <token>` like InfluxDB 2.x
(401 in its JSON shape), translates `/api/v2/write?org&bucket&precision` to `/write?db=<bucket>&precision=`,
answers `/health` and `/ping`, and passes the v1-compatible `/query` (InfluxQL) through, as InfluxDB 2.x
and Timestream for InfluxDB serve it with the same token. A bucket's database is created on its first
write (local convenience: a 2.x server answers 404 for an unknown bucket). The proxy is threaded, keeps
upstream connections alive per thread and streams large bodies: it sits in the benchmark's write path.

Run: `python -m deploy.local.influx_auth_proxy --port P --upstream http://127.0.0.1:INFLUXD --credentials-file F`
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import json
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from deploy.local.process_control import LocalService, ManagedProcess, http_status
from deploy.local.stack_config import REPO_ROOT, StackConfig

MODULE = "deploy.local.influx_auth_proxy"

BUFFERED_BODY_LIMIT = 4 * 1024 * 1024  # bodies up to this size are buffered so a stale keep-alive retry works
CHUNK = 256 * 1024
_HOP_BY_HOP = {
    "host",
    "authorization",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "upgrade",
    "proxy-authorization",
}
_RELAYED_RESPONSE_HEADERS = {"content-type", "content-encoding", "x-influxdb-version", "x-influxdb-build"}
UNAUTHORIZED = {"code": "unauthorized", "message": "unauthorized access"}
V2_WRITE = "/api/v2/write"
# v2 precision names -> influxd 1.x `/write` precision names.
PRECISIONS = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}


class _Upstream(threading.local):
    connection: http.client.HTTPConnection | None = None


class InfluxAuthProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], upstream: str, token: str) -> None:
        super().__init__(address, InfluxAuthProxyHandler)
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.expected_authorization = f"Token {token}".encode()
        self.upstream = _Upstream()
        self.known_databases: set[str] = set()
        self.databases_lock = threading.Lock()


class InfluxAuthProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: InfluxAuthProxyServer
    server_version = "ecom-influx-proxy"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).startswith("5"):  # one line per write would flood the log during benchmarks
            super().log_request(code, size)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET  # noqa: N815

    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._health()
            return
        if path != "/ping" and not self._authorized():
            self._drain_body()
            self._send_json(401, UNAUTHORIZED)
            return
        self._forward()

    def _authorized(self) -> bool:
        supplied = (self.headers.get("Authorization") or "").strip().encode()
        return hmac.compare_digest(supplied, self.server.expected_authorization)

    def _health(self) -> None:
        try:
            status, headers, _ = self._exchange("GET", "/ping", {}, b"", None)
            healthy = status == 204
        except OSError:
            healthy, headers = False, {}
        body = {
            "name": "influxdb",
            "message": "ready for queries and writes" if healthy else "influxd unreachable",
            "status": "pass" if healthy else "fail",
            "checks": [],
            "version": headers.get("x-influxdb-version", "unknown"),
        }
        self._send_json(200 if healthy else 503, body)

    def _upstream_path(self) -> str | None:
        """The influxd path of this request; None (after answering) when a v2 write is unusable."""
        path, _, query = self.path.partition("?")
        if path != V2_WRITE:
            return self.path
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        bucket = (params.get("bucket") or [""])[0]
        precision = (params.get("precision") or ["ns"])[0]
        if not bucket or precision not in PRECISIONS:
            self._drain_body()
            message = "bucket is required" if not bucket else f"invalid precision {precision!r}"
            self._send_json(400, {"code": "invalid", "message": message})
            return None
        self._ensure_database(bucket)
        return "/write?" + urllib.parse.urlencode({"db": bucket, "precision": PRECISIONS[precision]})

    def _ensure_database(self, name: str) -> None:
        """CREATE DATABASE once per bucket name (idempotent on influxd, so a race is harmless)."""
        if name in self.server.known_databases:
            return
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        query = urllib.parse.urlencode({"q": f'CREATE DATABASE "{quoted}"'})
        status, _, payload = self._exchange("POST", f"/query?{query}", {}, b"", None)
        if status == 200 and b'"error"' not in payload:
            with self.server.databases_lock:
                self.server.known_databases.add(name)

    def _forget_database(self, upstream_path: str) -> bool:
        """After a write's 404 (the database was dropped): forget it, so it is created again."""
        path, _, query = upstream_path.partition("?")
        database = urllib.parse.parse_qs(query).get("db", [""])[0] if path == "/write" else ""
        with self.server.databases_lock:
            if database not in self.server.known_databases:
                return False
            self.server.known_databases.discard(database)
        return True

    def _forward(self) -> None:
        try:
            upstream_path = self._upstream_path()
        except OSError as exc:
            self._drain_body()
            self.close_connection = True
            self._send_json(503, {"code": "unavailable", "message": f"upstream unavailable: {exc}"})
            return
        if upstream_path is None:
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length = int(self.headers.get("Content-Length") or 0)
        try:
            if chunked or length <= BUFFERED_BODY_LIMIT:
                body = self._read_chunked() if chunked else self.rfile.read(length)
                status, response_headers, payload = self._exchange(
                    self.command, upstream_path, headers, body, None
                )
                if status == 404 and self._forget_database(upstream_path):  # dropped since: recreate once
                    self._upstream_path()
                    status, response_headers, payload = self._exchange(
                        self.command, upstream_path, headers, body, None
                    )
            else:
                status, response_headers, payload = self._exchange(
                    self.command, upstream_path, headers, b"", (self.rfile, length)
                )
        except OSError as exc:
            self.close_connection = True
            self._send_json(503, {"code": "unavailable", "message": f"upstream unavailable: {exc}"})
            return
        if status >= 400:  # influxd 1.x answers {"error": ...}; v2 clients expect {"code", "message"}
            code = {401: "unauthorized", 404: "not found"}.get(
                status, "invalid" if status < 500 else "internal error"
            )
            self._send_json(status, {"code": code, "message": _error_text(payload)})
            return
        self.send_response(status)
        for key, value in response_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def _exchange(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        stream: tuple[object, int] | None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One upstream round trip on this thread's keep-alive connection (one retry if it went stale)."""
        for attempt in (1, 2):
            connection = self.server.upstream.connection
            if connection is None:
                connection = http.client.HTTPConnection(
                    self.server.upstream_host, self.server.upstream_port, timeout=120
                )
                self.server.upstream.connection = connection
            try:
                connection.putrequest(method, path, skip_accept_encoding=True)
                for key, value in headers.items():
                    connection.putheader(key, value)
                connection.putheader("Content-Length", str(stream[1] if stream else len(body)))
                connection.endheaders()
                if stream is not None:
                    _copy_stream(stream[0], connection, stream[1])
                elif body:
                    connection.send(body)
                response = connection.getresponse()
                payload = response.read()
                relayed = {
                    k.lower(): v for k, v in response.getheaders() if k.lower() in _RELAYED_RESPONSE_HEADERS
                }
                if response.will_close:
                    connection.close()
                    self.server.upstream.connection = None
                return response.status, relayed, payload
            except (http.client.HTTPException, OSError):
                connection.close()
                self.server.upstream.connection = None
                if attempt == 2 or stream is not None:
                    raise
        raise AssertionError("unreachable")

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _drain_body(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._read_chunked()
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            got = self.rfile.read(min(CHUNK, remaining))
            if not got:
                break
            remaining -= len(got)

    def _send_json(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _error_text(payload: bytes) -> str:
    text = payload.decode(errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict):
        return str(parsed.get("error") or parsed.get("message") or text)
    return text


def _copy_stream(source: object, connection: http.client.HTTPConnection, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = source.read(min(CHUNK, remaining))  # type: ignore[attr-defined]
        if not chunk:
            raise OSError("client closed the connection mid-body")
        connection.send(chunk)
        remaining -= len(chunk)


class InfluxAuthProxy(LocalService):
    """The stack's controller for the proxy process."""

    port_variable = "ECOM_INFLUX_PORT"
    start_timeout = 30.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.process = ManagedProcess(
            name="influx-proxy",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.influx_port,
            cmdline_marker=f"{MODULE} --port {config.influx_port}",
        )

    def is_ready(self) -> bool:
        return http_status(self.config.influx_port, "/health") == 200

    def launch(self) -> int:
        argv = [sys.executable, "-m", MODULE, "--port", str(self.config.influx_port)]
        argv += ["--upstream", self.config.influxd_url, "--credentials-file", str(self.config.secrets_file)]
        return self.process.start(argv, cwd=REPO_ROOT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="influxd base URL")
    parser.add_argument("--credentials-file", type=Path, required=True, help="JSON with key influx_token")
    args = parser.parse_args(argv)
    token = json.loads(args.credentials_file.read_text())["influx_token"]
    server = InfluxAuthProxyServer((args.host, args.port), args.upstream, token)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"influx auth proxy on {args.host}:{args.port} -> {args.upstream}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
