"""PostgreSQL side of the metric imports: one file's rows and its ledger row in one transaction.

Plain functions over a psycopg2 connection the caller owns, so the asset decides where transactions begin
and end (and retries them whole) and tests can point the same code at an isolated schema.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from ecom_pipeline.errors import ServiceUnavailableError
from ecom_pipeline.metric_imports.copy_format import COPY_COLUMNS
from ecom_pipeline.metric_imports.rejections import DATABASE_ERROR, Rejection
from ecom_pipeline.metric_imports.retention import RetainedFile
from ecom_pipeline.metric_imports.selection import (
    FAILED,
    IMPORTED,
    REJECTED,
    FileVersion,
    LedgerEntry,
    RetryPolicy,
)
from resources.partition_lock import ADVISORY_KEY_SQL, lock_name

# Errors after which the same transaction can succeed if simply run again.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    psycopg2.OperationalError,  # lost connection, admin shutdown, server restart
    psycopg2.InterfaceError,  # connection already closed under us
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
    ServiceUnavailableError,  # RdsPostgresResource.connect() could not reach the server
)


@dataclass(frozen=True)
class ImportTables:
    schema: str
    metrics: str = "metrics"
    ledger: str = "metric_import_files"

    @property
    def metrics_id(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.metrics)

    @property
    def ledger_id(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.ledger)

    def describe_metrics(self) -> str:
        return f"{self.schema}.{self.metrics}"

    def describe_ledger(self) -> str:
        return f"{self.schema}.{self.ledger}"


@dataclass(frozen=True)
class FileRowStats:
    row_count: int
    duplicate_groups: int  # (name, timestamp) pairs with more than one row
    duplicate_examples: list[tuple[str, datetime, int]]  # (name, timestamp, copies), at most 10


@dataclass(frozen=True)
class ImportOutcome:
    already_imported: bool
    rows_imported: int
    rows_replaced: int  # rows of an earlier version of the same key, deleted in the same transaction
    stats: FileRowStats  # what the checks compare, read in the same transaction after the COPY


def import_file_rows(
    conn: psycopg2.extensions.connection,
    tables: ImportTables,
    file: FileVersion,
    copy_text: str,
    record_count: int,
    run_id: str,
) -> ImportOutcome:
    """Replace the key's rows by the file's rows, mark the version imported and read the check figures; the
    caller commits.

    An advisory lock on the key (the shared partition lock of resources/partition_lock.py, named
    `metric_import:<key>` as before so old and new deployments exclude each other) serialises concurrent runs
    of the same file (sensor, sweep, a manual run), and the
    ledger check inside that lock makes a duplicate event a no-op. A new file takes four round trips (lock,
    ledger check and delete; COPY; ledger row and check figures; the caller's commit) rather than eight: on
    RDS each is network latency, and in a busy run each is also a wait for the GIL.
    """
    with conn.cursor() as cur:
        cur.execute(
            _claim_statement(tables),
            {
                "name": lock_name("metric_import", file.key),
                "key": file.key,
                "etag": file.etag,
                "imported": IMPORTED,
            },
        )
        already_imported, replaced = cur.fetchone()
        if already_imported:
            return ImportOutcome(True, 0, 0, file_row_stats(conn, tables, file.key))
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            tables.metrics_id, sql.SQL(", ").join(sql.Identifier(c) for c in COPY_COLUMNS)
        )
        cur.copy_expert(copy, io.StringIO(copy_text), size=1 << 20)
        copied = cur.rowcount
        if copied != record_count:
            raise RuntimeError(f"COPY of {file.key} wrote {copied} rows, expected {record_count}")
        now = datetime.now(UTC)
        upsert, values = _ledger_upsert(
            tables,
            file,
            {
                "status": IMPORTED,
                "records_in_file": record_count,
                "rows_imported": copied,
                "reason_code": None,
                "error": None,
                "record_index": None,
                "quarantine_key": None,
                "run_id": run_id,
                "last_attempt_at": now,
                "imported_at": now,
                "partition_pruned_at": None,  # the run materialized the file's partition: retention restarts
            },
        )
        cur.execute(sql.SQL("; ").join([upsert, _stats_statement(tables)]), [*values, file.key])
        stats = _stats_from_row(conn, tables, file.key, cur.fetchone())
    return ImportOutcome(False, copied, replaced, stats)


def _claim_statement(tables: ImportTables) -> sql.Composed:
    """Lock the key, then (in a statement that sees what the lock waited for) report whether this version is
    already imported and, if not, delete the key's earlier rows. A run that finds the version imported still
    counts as the file's last run: it restarts the partition's retention (a partition added back on the UI and
    materialized stays for the retention again)."""
    return sql.SQL(
        f"SELECT pg_advisory_xact_lock({ADVISORY_KEY_SQL}); "
        "WITH done AS (UPDATE {ledger} SET last_attempt_at = now(), partition_pruned_at = NULL "
        "WHERE file_key = %(key)s AND etag = %(etag)s AND status = %(imported)s RETURNING 1), "
        "replaced AS (DELETE FROM {metrics} WHERE source_file = %(key)s AND NOT EXISTS (SELECT 1 FROM done) "
        "RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM done), (SELECT count(*) FROM replaced)"
    ).format(ledger=tables.ledger_id, metrics=tables.metrics_id)


def record_rejection(
    conn: psycopg2.extensions.connection,
    tables: ImportTables,
    file: FileVersion,
    rejection: Rejection,
    quarantined_at: str,
    run_id: str,
) -> None:
    """Mark the version rejected. Rows of an earlier good version of the key stay (and stay counted)."""
    with conn.cursor() as cur:
        cur.execute(
            *_ledger_upsert(
                tables,
                file,
                {
                    "status": REJECTED,
                    "records_in_file": rejection.total_records,
                    "reason_code": rejection.reason_code,
                    "error": rejection.message,
                    "record_index": rejection.record_index,
                    "quarantine_key": quarantined_at,
                    "run_id": run_id,
                    "last_attempt_at": datetime.now(UTC),
                },
            )
        )


def record_failure(
    conn: psycopg2.extensions.connection, tables: ImportTables, file: FileVersion, error: str, run_id: str
) -> int | None:
    """Mark the version failed so the schedule's sweep retries it (with backoff, up to its limit); never
    downgrades an imported version. Returns the version's attempts so far (None if it was imported)."""
    with conn.cursor() as cur:
        cur.execute(
            *_ledger_upsert(
                tables,
                file,
                {
                    "status": FAILED,
                    "reason_code": DATABASE_ERROR,
                    "error": error,
                    "run_id": run_id,
                    "last_attempt_at": datetime.now(UTC),
                },
                keep_if_imported=True,
            )
        )
        row = cur.fetchone()
    return int(row[0]) if row else None


def set_failure_error(
    conn: psycopg2.extensions.connection, tables: ImportTables, file: FileVersion, error: str
) -> None:
    """Replace the error of the version's `failed` row (the final message once the sweep gives up)."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("UPDATE {} SET error = %s WHERE file_key = %s AND etag = %s AND status = %s").format(
                tables.ledger_id
            ),
            [error, file.key, file.etag, FAILED],
        )


def _ledger_upsert(
    tables: ImportTables, file: FileVersion, values: dict[str, object], keep_if_imported: bool = False
) -> tuple[sql.Composed, list[object]]:
    columns = {"file_key": file.key, "bucket": file.bucket, "etag": file.etag, "size_bytes": file.size_bytes}
    columns.update(values)
    names = list(columns)
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in names if n != "file_key"]
    # Attempts of the key; a failure of a new version starts again at 1, so the sweep's retry limit (which
    # looks at failed rows only) counts the failing version's attempts.
    updates.append(
        sql.SQL(
            "attempts = CASE WHEN EXCLUDED.status = 'failed' AND ledger.etag <> EXCLUDED.etag THEN 1 "
            "ELSE ledger.attempts + 1 END"
        )
    )
    guard = sql.SQL(" WHERE NOT (ledger.status = 'imported' AND ledger.etag = EXCLUDED.etag)")
    statement = sql.SQL(
        "INSERT INTO {} AS ledger ({}) VALUES ({}) ON CONFLICT (file_key) DO UPDATE SET {}{} RETURNING attempts"
    ).format(
        tables.ledger_id,
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
        sql.SQL(", ").join(updates),
        guard if keep_if_imported else sql.SQL(""),
    )
    return statement, [columns[n] for n in names]


def ledger_entries(
    conn: psycopg2.extensions.connection, tables: ImportTables, keys: Sequence[str]
) -> dict[str, LedgerEntry]:
    """The last attempted version, status and attempts of each of `keys` (one page of a listing, so the cost
    follows the page, not the ledger)."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT file_key, etag, status, attempts, last_attempt_at FROM {} WHERE file_key = ANY(%s)"
            ).format(tables.ledger_id),
            [list(keys)],
        )
        return {row[0]: LedgerEntry(*row[1:]) for row in cur.fetchall()}


def failed_versions(
    conn: psycopg2.extensions.connection,
    tables: ImportTables,
    retry: RetryPolicy,
    now: datetime,
    limit: int,
) -> list[tuple[str, LedgerEntry]]:
    """Failed versions whose retry is due under `retry` (`RetryPolicy.due`, in SQL), longest waiting first:
    a bounded query on the status index, however large the ledger."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT file_key, etag, status, attempts, last_attempt_at FROM {} WHERE status = %(failed)s "
                "AND attempts < %(max)s AND last_attempt_at + make_interval(secs => %(backoff)s "
                "* power(2, attempts - 1)) <= %(now)s ORDER BY last_attempt_at LIMIT %(limit)s"
            ).format(tables.ledger_id),
            {
                "failed": FAILED,
                "max": retry.max_attempts,
                "backoff": retry.backoff.total_seconds(),
                "now": now,
                "limit": limit,
            },
        )
        return [(row[0], LedgerEntry(*row[1:])) for row in cur.fetchall()]


# A file whose partition the sweep may delete: imported, still holding a partition, last run before the cutoff.
# One predicate for the read and for the mark, so a file run again in between is never marked.
_DUE_FOR_PRUNING = sql.SQL(
    "status = %(imported)s AND partition_pruned_at IS NULL AND last_attempt_at < %(cutoff)s"
)


def prunable_files(
    conn: psycopg2.extensions.connection, tables: ImportTables, cutoff: datetime, limit: int
) -> list[RetainedFile]:
    """Imported files that still have a partition and whose last run is before `cutoff`, oldest first: a
    bounded query on the partial index `idx_metric_import_files_prunable`, however large the ledger."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT file_key, status, last_attempt_at, partition_pruned_at FROM {} WHERE {} "
                "ORDER BY last_attempt_at LIMIT %(limit)s"
            ).format(tables.ledger_id, _DUE_FOR_PRUNING),
            {"imported": IMPORTED, "cutoff": cutoff, "limit": limit},
        )
        return [RetainedFile(*row) for row in cur.fetchall()]


def mark_partitions_pruned(
    conn: psycopg2.extensions.connection,
    tables: ImportTables,
    keys: Sequence[str],
    cutoff: datetime,
    at: datetime,
) -> int:
    """Record that `keys` lost their partition, for rows still due (a file run again since the sweep read the
    ledger keeps its new clock and is not marked); returns the rows marked."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "UPDATE {} SET partition_pruned_at = %(at)s WHERE file_key = ANY(%(keys)s) AND {}"
            ).format(tables.ledger_id, _DUE_FOR_PRUNING),
            {"at": at, "keys": list(keys), "imported": IMPORTED, "cutoff": cutoff},
        )
        return cur.rowcount


_DUPLICATE_EXAMPLES = 10


def file_row_stats(conn: psycopg2.extensions.connection, tables: ImportTables, file_key: str) -> FileRowStats:
    """What the asset checks compare: rows in `metrics` from this file and repeated (name, timestamp).

    Both numbers come from one hash aggregate over the file's rows (found through the source_file index), so
    the cost follows the file's size, not the table's; examples are fetched only when there are duplicates.
    A LIMIT on the grouped query itself would invite the planner to walk the (name, timestamp) index across
    the whole table instead (measured: 66 ms against 3 ms per 5,000-row file at 200,000 rows).
    """
    with conn.cursor() as cur:
        cur.execute(_stats_statement(tables), [file_key])
        return _stats_from_row(conn, tables, file_key, cur.fetchone())


def _stats_statement(tables: ImportTables) -> sql.Composed:
    return sql.SQL(
        "SELECT coalesce(sum(copies), 0), count(*) FILTER (WHERE copies > 1) FROM "
        '(SELECT count(*) AS copies FROM {} WHERE source_file = %s GROUP BY name, "timestamp") AS per_instant'
    ).format(tables.metrics_id)


def _stats_from_row(
    conn: psycopg2.extensions.connection, tables: ImportTables, file_key: str, row: tuple[int, int]
) -> FileRowStats:
    row_count, duplicate_groups = row
    examples: list[tuple[str, datetime, int]] = []
    if duplicate_groups:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    'SELECT * FROM (SELECT name, "timestamp", count(*) AS copies FROM {} WHERE source_file = %s '
                    'GROUP BY name, "timestamp") AS per_instant WHERE copies > 1 ORDER BY copies DESC, name LIMIT %s'
                ).format(tables.metrics_id),
                [file_key, _DUPLICATE_EXAMPLES],
            )
            examples = list(cur.fetchall())
    return FileRowStats(int(row_count), duplicate_groups, examples)
