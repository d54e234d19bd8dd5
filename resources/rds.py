"""PostgreSQL on RDS, with credentials from Secrets Manager (JSON `username, password, host, port, dbname`).

No call can hang: the server ends a statement after `statement_timeout_ms`, TCP keepalives and
`tcp_user_timeout` notice a peer that vanished, and a watchdog aborts a call that has heard nothing from the
server for longer than the server itself allows a statement to run (a peer that still acknowledges packets
but stopped answering, which no TCP option detects), so a step fails with a message instead of waiting for
the Lambda or ECS timeout.
"""

import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions
from pydantic import Field

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.deployment_only import DeploymentOnlyFields
from resources.secrets import SecretsManagerResource

_REQUIRED_SECRET_KEYS = ("username", "password", "host", "port", "dbname")

# One reusable connection per (process, secret): a warm Lambda or a long-lived step keeps it across calls.
_shared_connections: dict[tuple[int, str, str], psycopg2.extensions.connection] = {}
_shared_lock = threading.Lock()


@contextmanager
def committed(
    conn: psycopg2.extensions.connection, discard: Callable[[psycopg2.extensions.connection], None]
) -> Iterator[psycopg2.extensions.connection]:
    """One transaction on `conn`: committed on success, rolled back on any error. A connection that cannot
    roll back (it died) goes to `discard`, so whoever reuses connections opens a new one next time."""
    try:
        yield conn
        conn.commit()
    except BaseException:
        if not conn.closed:
            try:
                conn.rollback()
            except psycopg2.Error:
                discard(conn)
        else:
            discard(conn)
        raise


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database could not be reached; transient unless it persists."""


class DatabaseStalledError(DatabaseUnavailableError):
    """The server stopped answering in the middle of a call; the watchdog closed the connection."""


class _Call:
    """One blocking call being watched. A COPY's writer counts writes begun and ended (counters, not clock
    reads: the writer runs once per row); the watchdog turns a change into "heard from the server now", and a
    write still under way (a slow consumer) is never the server's silence."""

    __slots__ = ("begun", "conn", "ended", "last", "seen")

    def __init__(self, conn: "GuardedConnection") -> None:
        self.conn, self.last = conn, time.monotonic()
        self.begun = self.ended = self.seen = 0


class _Watchdog:
    """One daemon thread per process that shuts down the socket of a call silent for longer than its limit.

    Shutting the socket down makes libpq's blocked read return at once, so the call raises instead of
    waiting forever; `conn.cancel()` would not help, the cancel's answer travels the same dead path.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tokens = itertools.count()

    def start(self, conn: "GuardedConnection") -> tuple[int, _Call]:
        token, call = next(self._tokens), _Call(conn)
        with self._lock:
            self._calls[token] = call
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pg-watchdog", daemon=True)
                self._thread.start()
        return token, call

    def stop(self, token: int) -> None:
        with self._lock:
            self._calls.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:  # a call cannot finish (stop) while its socket is being shut down
                for token, call in list(self._calls.items()):
                    conn, ended = call.conn, call.ended
                    if ended != call.seen or call.begun != ended:  # data arrived, or a write is under way
                        call.seen, call.last = ended, now
                        continue
                    if now - call.last <= conn.stall_timeout_seconds or conn.closed:
                        continue
                    conn.stalled = True
                    del self._calls[token]
                    try:
                        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                            sock.shutdown(socket.SHUT_RDWR)
                    except (OSError, psycopg2.Error):
                        pass


_watchdog = _Watchdog()


class _ProgressWriter:
    """The file a `COPY ... TO STDOUT` writes into: each write is data from the server."""

    def __init__(self, file: Any, call: _Call) -> None:
        self._write, self._call = file.write, call

    def write(self, data: Any) -> Any:
        call = self._call
        call.begun += 1
        written = self._write(data)
        call.ended += 1
        return written


def _is_copy_destination(file: Any) -> bool:
    """True for the file of a COPY TO (written into); buffered writers also have a `read` that raises."""
    readable = getattr(file, "readable", None)
    if callable(readable):
        try:
            return not readable() and hasattr(file, "write")
        except ValueError:  # closed
            return False
    return hasattr(file, "write") and not hasattr(file, "read")


def _watched(conn: "GuardedConnection", call: Callable[..., Any], *args: Any, copy_file: Any = None) -> Any:
    """Run one blocking libpq call under the watchdog; DatabaseStalledError when the watchdog ended it."""
    token, watched = _watchdog.start(conn)
    try:
        if copy_file is not None:
            return call(args[0], _ProgressWriter(copy_file, watched), *args[1:])
        return call(*args)
    except psycopg2.Error:
        if conn.stalled:
            raise DatabaseStalledError(
                f"PostgreSQL at {conn.where} sent nothing for {conn.stall_timeout_seconds:g}s "
                "(longer than its statement_timeout); the connection was aborted"
            ) from None
        raise
    finally:
        _watchdog.stop(token)


class GuardedCursor(psycopg2.extensions.cursor):
    """A cursor whose blocking calls are watched: silence beyond the connection's bound raises
    DatabaseStalledError naming the server, instead of hanging."""

    def _guarded(self, call: Callable[..., Any], *args: Any, copy_file: Any = None) -> Any:
        return _watched(self.connection, call, *args, copy_file=copy_file)

    def execute(self, query: Any, vars: Any = None) -> Any:
        return self._guarded(super().execute, query, vars)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        return self._guarded(super().executemany, query, vars_list)

    def fetchone(self) -> Any:
        return self._guarded(super().fetchone)

    def fetchmany(self, size: int | None = None) -> Any:
        return self._guarded(super().fetchmany, self.arraysize if size is None else size)

    def fetchall(self) -> Any:
        return self._guarded(super().fetchall)

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> Any:
        if _is_copy_destination(file):
            return self._guarded(super().copy_expert, sql, size, copy_file=file)
        return self._guarded(super().copy_expert, sql, file, size)


class GuardedConnection(psycopg2.extensions.connection):
    """A connection that knows its stall bound and how to name itself in errors (never the password)."""

    stall_timeout_seconds: float = 0.0
    stalled: bool = False
    where: str = ""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", GuardedCursor)
        return super().cursor(*args, **kwargs)

    def commit(self) -> None:
        _watched(self, super().commit)

    def rollback(self) -> None:
        _watched(self, super().rollback)


class RdsPostgresResource(DeploymentOnlyFields):
    """Connections to the source database; the password only ever lives in the secret and in memory."""

    # The secret names the host its password is sent to; sslmode decides whether it travels encrypted.
    DEPLOYMENT_ONLY = frozenset({"secret_name", "sslmode"})

    secrets: SecretsManagerResource
    secret_name: str = Field(description="Secrets Manager secret with the database credentials.")
    sslmode: str | None = Field(
        default=None,
        description="libpq sslmode; unset uses PGSSLMODE (verify-full in the AWS image), else libpq's prefer.",
    )
    connect_timeout_seconds: int = Field(default=5)
    application_name: str = Field(default="ecom-pipeline")
    statement_timeout_ms: int = Field(
        default=600_000,
        description="Server-side bound of one statement (a COPY included); under Lambda's 15 min.",
    )
    keepalives_idle_seconds: int = Field(default=30, description="Idle time before the first TCP keepalive.")
    keepalives_interval_seconds: int = Field(default=10)
    keepalives_count: int = Field(default=3, description="Unanswered keepalives before the link is dead.")
    tcp_user_timeout_ms: int = Field(
        default=60_000, description="How long sent data may stay unacknowledged before the link is dead."
    )
    stall_grace_seconds: float = Field(
        default=30.0,
        description="A call that hears nothing for statement_timeout plus this is aborted by the watchdog.",
    )

    def _credentials(self) -> dict[str, Any]:
        creds = self.secrets.get_json(self.secret_name)
        missing = [key for key in _REQUIRED_SECRET_KEYS if not creds.get(key)]
        if missing:
            raise ConfigurationError(f"secret {self.secret_name!r} lacks keys: {', '.join(missing)}")
        return creds

    def dsn_description(self) -> str:
        """host:port/dbname as user, for logs and metadata (no password)."""
        creds = self._credentials()
        return f"{creds['username']}@{creds['host']}:{creds['port']}/{creds['dbname']}"

    def connect(self) -> psycopg2.extensions.connection:
        """A new connection the caller owns (COPY, server-side cursors, explicit transactions)."""
        creds = self._credentials()
        ssl = {"sslmode": self.sslmode} if self.sslmode else {}
        try:
            conn = psycopg2.connect(
                host=creds["host"],
                port=int(creds["port"]),
                dbname=creds["dbname"],
                user=creds["username"],
                password=creds["password"],
                connect_timeout=self.connect_timeout_seconds,
                application_name=self.application_name,
                options=f"-c statement_timeout={int(self.statement_timeout_ms)}",
                keepalives=1,
                keepalives_idle=self.keepalives_idle_seconds,
                keepalives_interval=self.keepalives_interval_seconds,
                keepalives_count=self.keepalives_count,
                tcp_user_timeout=self.tcp_user_timeout_ms,
                connection_factory=GuardedConnection,
                **ssl,
            )
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "password authentication failed" in reason:
                # A rotated password: refetch the secret next time.
                self.secrets.invalidate(self.secret_name)
                raise ConfigurationError(
                    f"PostgreSQL rejected the credentials of secret {self.secret_name!r} "
                    f"for {creds['username']}@{creds['host']}:{creds['port']}/{creds['dbname']}"
                ) from None
            raise DatabaseUnavailableError(
                f"cannot connect to PostgreSQL at {creds['host']}:{creds['port']}/{creds['dbname']}: {reason}"
            ) from None
        conn.stall_timeout_seconds = self.statement_timeout_ms / 1000 + self.stall_grace_seconds
        conn.where = f"{creds['host']}:{creds['port']}/{creds['dbname']}"
        return conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.connection]:
        """One transaction on the process's shared connection: commit on success, roll back on any error."""
        with committed(self._shared_connection(), self._discard) as conn:
            yield conn

    def stream_query(
        self, query: Any, params: Sequence[Any] | dict[str, Any] | None = None, batch_size: int = 50_000
    ) -> Iterator[tuple[list[str], list[tuple]]]:
        """Rows in bounded batches through a server-side cursor, so memory stays flat on large tables."""
        conn = self.connect()
        try:
            with conn.cursor(name="ecom_stream") as cursor:
                cursor.itersize = batch_size
                cursor.execute(query, params)
                columns: list[str] | None = None
                while True:
                    rows = cursor.fetchmany(batch_size)
                    if columns is None:
                        columns = [d.name for d in cursor.description]
                    if not rows:
                        break
                    yield columns, rows
            conn.commit()
        finally:
            conn.close()

    def _shared_connection(self) -> psycopg2.extensions.connection:
        key = (os.getpid(), self.secret_name, self.sslmode)
        with _shared_lock:
            conn = _shared_connections.get(key)
            if conn is None or conn.closed:
                conn = self.connect()
                _shared_connections[key] = conn
            return conn

    def _discard(self, conn: psycopg2.extensions.connection) -> None:
        with _shared_lock:
            for key, value in list(_shared_connections.items()):
                if value is conn:
                    del _shared_connections[key]
        try:
            conn.close()
        except psycopg2.Error:
            pass
