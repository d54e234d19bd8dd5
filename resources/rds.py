"""PostgreSQL on RDS, with credentials from Secrets Manager (JSON `username, password, host, port, dbname`)."""

import os
import threading
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


class RdsPostgresResource(DeploymentOnlyFields):
    """Connections to the source database; the password only ever lives in the secret and in memory."""

    # The secret names the host its password is sent to; sslmode decides whether it travels encrypted.
    DEPLOYMENT_ONLY = frozenset({"secret_name", "sslmode"})

    secrets: SecretsManagerResource
    secret_name: str = Field(description="Secrets Manager secret with the database credentials.")
    sslmode: str = Field(default="prefer", description="libpq sslmode; use verify-full on AWS.")
    connect_timeout_seconds: int = Field(default=5)
    application_name: str = Field(default="ecom-pipeline")

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
        try:
            return psycopg2.connect(
                host=creds["host"],
                port=int(creds["port"]),
                dbname=creds["dbname"],
                user=creds["username"],
                password=creds["password"],
                sslmode=self.sslmode,
                connect_timeout=self.connect_timeout_seconds,
                application_name=self.application_name,
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
