"""Writing a run's prepared metric files: one transaction per file with its ledger row, retried on transient
database errors; a rejected file is quarantined and a failed one marked for the sweep.

`db_writers` files (two by default) are written at once, each on its own connection: PostgreSQL works on
both cores while this process parses (psycopg2 releases the GIL while libpq waits).
"""

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions
from dagster import DagsterLogManager, MetadataValue, TableSchema

from ecom_pipeline.metric_imports.quarantine import PreparedFile
from ecom_pipeline.metric_imports.rejections import DATABASE_ERROR, Rejection
from ecom_pipeline.metric_imports.selection import FAILED, IMPORTED, REJECTED, FileVersion
from ecom_pipeline.metric_imports.validation import MetricFile
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.dead_letters import DeadLetters
from resources.metric_imports.ledger import (
    TRANSIENT_DB_ERRORS,
    FileRowStats,
    ImportOutcome,
    ImportTables,
    import_file_rows,
    record_failure,
    record_rejection,
    set_failure_error,
)
from resources.rds import RdsPostgresResource, committed
from resources.table_schemas import table_schema

# Outcomes of one file in a run: the ledger's statuses (FAILED: the database kept failing, nothing of the file
# is written) and two that never reach the ledger.
ALREADY_IMPORTED = "already_imported"
MISSING = "missing"  # the object is gone (deleted after it was detected)
SUCCEEDED = frozenset({IMPORTED, ALREADY_IMPORTED})

_PREVIEW_RECORDS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class FileOutcome:
    key: str
    status: str
    records_in_file: int = 0
    rows_imported: int = 0
    message: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)  # the partition's materialization
    stats: FileRowStats | None = None  # what the checks compare, read in the file's transaction


class FileImporter:
    """Writes prepared files one transaction each, and handles the ones that cannot be written.

    `handle` may run on several writer threads at once (`MetricImportsConfig.db_writers`): each thread has its
    own connection, opened on first use and closed by `close()`, so two files' COPYs proceed side by side.
    """

    def __init__(
        self,
        log: DagsterLogManager,
        run_id: str,
        config: MetricImportsConfig,
        rds: RdsPostgresResource,
        tables: ImportTables,
        dead_letters: DeadLetters,
    ) -> None:
        self.log = log
        self.run_id = run_id
        self.config = config
        self.rds = rds
        self.tables = tables
        self.dead_letters = dead_letters
        self._local = threading.local()
        self._opened: list[psycopg2.extensions.connection] = []
        self._opened_lock = threading.Lock()

    def handle(self, prepared: PreparedFile) -> FileOutcome:
        started = time.perf_counter()
        if prepared.file is None:
            message = (
                f"s3://{self.config.bucket}/{prepared.key} does not exist (deleted after it was detected?)"
            )
            self.log.error(message)
            return FileOutcome(prepared.key, MISSING, message=message)
        if prepared.rejection is not None:
            return self._reject(prepared.file, prepared.rejection)
        assert prepared.parsed is not None
        file, parsed = prepared.file, prepared.parsed

        def write(conn: psycopg2.extensions.connection) -> ImportOutcome:
            return import_file_rows(conn, self.tables, file, prepared.rows_text, len(parsed), self.run_id)

        try:
            outcome, attempts = self.with_db_retries(
                lambda: self.in_transaction(write), f"import of {file.key}"
            )
        except TRANSIENT_DB_ERRORS as exc:
            return self._fail(file, exc, f"import failed after {self.config.db_attempts} attempts")
        except psycopg2.Error as exc:  # not transient: running the same transaction again cannot succeed
            return self._fail(file, exc, "import failed on a database error that is not transient")
        seconds = prepared.read_seconds + time.perf_counter() - started
        status = ALREADY_IMPORTED if outcome.already_imported else IMPORTED
        return FileOutcome(
            file.key,
            status,
            records_in_file=len(parsed),
            rows_imported=outcome.rows_imported,
            metadata=self._object_links("file", file.bucket, file.key)
            | _imported_metadata(file, parsed, outcome, status, attempts, prepared.read_seconds, seconds),
            stats=outcome.stats,
        )

    def metrics_columns(self) -> TableSchema | None:
        """The metrics table's columns for `dagster/column_schema`; None (and a warning) when the database
        cannot say, since a description of the table is not worth failing an import for."""
        try:
            return self.in_transaction(
                lambda conn: table_schema(conn, self.tables.metrics, self.tables.schema)
            )
        except psycopg2.Error as exc:
            self.log.warning(f"columns of {self.tables.describe_metrics()} not read: {type(exc).__name__}")
            return None

    def _object_links(self, name: str, bucket: str, key: str) -> dict[str, MetadataValue]:
        """`name`: a link that opens from the UI; `name_s3`: the object's path."""
        return {
            name: MetadataValue.url(self.config.s3_link(bucket, key)),
            f"{name}_s3": MetadataValue.path(f"s3://{bucket}/{key}"),
        }

    def in_transaction(self, work: Callable[[psycopg2.extensions.connection], T]) -> T:
        """One transaction on this thread's connection: committed on success, rolled back on any error; a
        connection that died is closed and forgotten, so the retry opens a new one."""
        with committed(self._connection(), self._forget) as conn:
            return work(conn)

    def close(self) -> None:
        """Close every connection the writer threads opened (at the end of the run)."""
        with self._opened_lock:
            for conn in self._opened:
                if not conn.closed:
                    conn.close()
            self._opened.clear()

    def _forget(self, conn: psycopg2.extensions.connection) -> None:
        self._local.conn = None
        if not conn.closed:
            conn.close()

    def _connection(self) -> psycopg2.extensions.connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self.rds.connect()
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def with_db_retries(self, action: Callable[[], T], what: str) -> tuple[T, int]:
        """Run `action` again on transient database errors, with exponential backoff and jitter."""
        config = self.config
        for attempt in range(1, config.db_attempts + 1):
            try:
                return action(), attempt
            except TRANSIENT_DB_ERRORS as exc:
                if attempt == config.db_attempts:
                    raise
                delay = config.db_retry_base_seconds * 2 ** (attempt - 1) * (1 + random.random() / 4)
                self.log.warning(
                    f"{what}: transient database error {type(exc).__name__} on attempt {attempt}/"
                    f"{config.db_attempts}, nothing was committed; retrying in {delay:.1f}s"
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _reject(self, file: FileVersion, rejection: Rejection) -> FileOutcome:
        """Quarantine, dead-letter and announce a bad file, then record it; the ledger row comes last so a
        failure on the way leaves the file due for the sweep."""
        self.log.error(f"rejected: {rejection.message}")
        quarantined = self.dead_letters.quarantine(file, rejection)
        sent = self.dead_letters.send(file, rejection.reason_code, rejection.message, rejection.as_dict())
        self.with_db_retries(
            lambda: self.in_transaction(
                lambda conn: record_rejection(conn, self.tables, file, rejection, quarantined, self.run_id)
            ),
            f"ledger of {file.key}",
        )
        return FileOutcome(
            file.key,
            REJECTED,
            records_in_file=rejection.total_records or 0,
            message=rejection.message,
            metadata=self._object_links("file", file.bucket, file.key)
            | self._object_links("quarantined_to", file.bucket, quarantined)
            | {
                "reason_code": rejection.reason_code,
                "record_index": rejection.record_index if rejection.record_index is not None else -1,
                "field": rejection.field or "",
                "invalid_records": rejection.invalid_records,
                "dlq_messages_sent": sent,
                "problems": MetadataValue.md(
                    "\n".join(f"- {p.describe()}" for p in rejection.problems) or "-"
                ),
            },
        )

    def _fail(self, file: FileVersion, exc: BaseException, what: str) -> FileOutcome:
        """The database failed: nothing of the file was committed. Mark it failed, which counts the version's
        attempts: the sweep retries it with backoff until `sweep_max_attempts`, and only the attempt that
        reaches the limit sends the SNS alert (every attempt leaves its dead letter)."""
        detail = str(exc).strip()
        error = f"{type(exc).__name__}: {detail.splitlines()[0] if detail else ''}"
        message = f"{file.key}: {what}, no rows written ({error})"
        limit = self.config.sweep_max_attempts

        def mark_failed(conn: psycopg2.extensions.connection) -> tuple[int | None, str]:
            attempts = record_failure(conn, self.tables, file, message, self.run_id)
            if attempts is None:
                return None, message
            if attempts < limit:
                return (
                    attempts,
                    f"{message}; attempt {attempts} of {limit}, the hourly sweep retries it with backoff",
                )
            final = (
                f"{message}; attempt {attempts} of {limit}: the sweep gives up on this version, "
                "materialize its partition from the UI to import it"
            )
            set_failure_error(conn, self.tables, file, final)  # the ledger row says so too
            return attempts, final

        attempts: int | None = None
        try:
            attempts, message = self.in_transaction(mark_failed)
        except Exception as ledger_exc:  # the database is the thing failing; the sweep still finds the file
            self.log.warning(f"could not mark {file.key} failed in the ledger: {type(ledger_exc).__name__}")
        gave_up = attempts is not None and attempts >= limit
        self.log.error(message)
        self.dead_letters.send(
            file,
            DATABASE_ERROR,
            message,
            {"error": error, "attempts": attempts},
            best_effort=True,
            alert=gave_up,
        )
        return FileOutcome(
            file.key,
            FAILED,
            message=message,
            metadata={
                "status": FAILED,
                "error_type": type(exc).__name__,
                "attempts": attempts if attempts is not None else -1,  # -1: the ledger could not be written
                "max_attempts": limit,
                "sweep_gave_up": gave_up,
            },
        )


def _imported_metadata(
    file: FileVersion,
    parsed: MetricFile,
    outcome: ImportOutcome,
    status: str,
    attempts: int,
    read_seconds: float,
    seconds: float,
) -> dict[str, Any]:
    table = "\n".join(
        ["| # | name | value | timestamp |", "|---|---|---|---|"]
        + [
            f"| {i} | {r.name} | {r.value} | {r.timestamp.isoformat()} |"
            for i, r in enumerate(parsed.records(_PREVIEW_RECORDS))
        ]
    )
    return {
        "dagster/row_count": outcome.stats.row_count,  # the file's rows in the table after its transaction
        "status": status,
        "etag": file.etag,
        "size_bytes": file.size_bytes,
        "records_in_file": len(parsed),
        "rows_imported": outcome.rows_imported,
        "rows_replaced": outcome.rows_replaced,
        "db_attempts": attempts,
        "read_and_validate_seconds": round(read_seconds, 4),
        "duration_seconds": round(seconds, 4),
        "rows_per_second": round(outcome.rows_imported / seconds, 1) if seconds > 0 else 0.0,
        "first_records": MetadataValue.md(table),
    }
