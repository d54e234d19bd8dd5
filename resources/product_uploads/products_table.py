"""SQL of product_uploads: vendor check, the upload_history state machine, the products upsert.

upload_history status: `processing` (row created) -> `pending_validation` (every row staged in DynamoDB) ->
`validating` (set by the validator before it writes its first item status) -> `completed` |
`completed_with_errors` | `failed` (validator). `rejected` (unknown or inactive vendor) and
`failed` with `error_message` (file refused by the parser) end an upload before staging. Every statement
takes values as parameters; callers run them inside `transaction()` below, which is `RdsPostgresResource.transaction()`
(resources/rds.py, the one way to run SQL) plus the pipeline's optional schema.
"""

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2 import sql

from ecom_pipeline.product_uploads.records import PRODUCT_TABLE_COLUMNS, item_timestamp
from resources.rds import RdsPostgresResource

STATUS_PROCESSING = "processing"
STATUS_STAGED = "pending_validation"
STATUS_VALIDATING = "validating"
STATUS_REJECTED = "rejected"
STATUS_FAILED = "failed"
_STAGE_TABLE = "upload_products_stage"
PRODUCTS_TABLE = "products"  # in the upload's schema (search_path), as every statement here names it
_UPDATABLE = [c for c in PRODUCT_TABLE_COLUMNS if c not in ("vendor_id", "sku", "source_upload_id")]


@contextmanager
def transaction(rds: RdsPostgresResource, schema: str | None) -> Iterator[Any]:
    """`rds.transaction()` with the tables looked up in `schema` first (unset: the server's search_path)."""
    with rds.transaction() as conn:
        if schema:
            with conn.cursor() as cursor:
                cursor.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(schema)))
        yield conn


@dataclass(frozen=True)
class UploadHistory:
    upload_id: str
    vendor_id: str
    file_name: str
    s3_key: str
    status: str
    total_records: int | None
    valid_records: int | None
    processing_started_at: datetime | None

    @property
    def staged_at(self) -> str:
        """`created_at` of the upload's items: fixed per upload, so rebuilt items equal the stored ones."""
        return item_timestamp(self.processing_started_at) if self.processing_started_at else ""

    @property
    def staged(self) -> bool:
        """Every row is in DynamoDB: total_records is written only after the last batch succeeded."""
        return self.total_records is not None and self.status not in (STATUS_REJECTED, STATUS_PROCESSING)


def vendor_status(conn: Any, vendor_id: str) -> str | None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT status FROM vendors WHERE vendor_id = %s", (vendor_id,))
        row = cursor.fetchone()
    return row[0] if row else None


def get_upload(conn: Any, upload_id: str) -> UploadHistory | None:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT upload_id, vendor_id, file_name, s3_key, status, total_records, valid_records, "
            "processing_started_at FROM upload_history WHERE upload_id = %s",
            (upload_id,),
        )
        row = cursor.fetchone()
    return UploadHistory(*row) if row else None


def start_upload(
    conn: Any, upload_id: str, vendor_id: str, file_name: str, s3_key: str, uploaded_at: datetime
) -> UploadHistory:
    """Record the upload as `processing` (ON CONFLICT DO NOTHING, so a re-run keeps the first row); returns the row as it now stands."""
    with conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, status, upload_timestamp, "
            "processing_started_at) VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (upload_id) DO NOTHING",
            (upload_id, vendor_id, file_name, s3_key, STATUS_PROCESSING, uploaded_at),
        )
    upload = get_upload(conn, upload_id)
    assert upload is not None  # inserted or already there, inside this transaction
    return upload


def reject_upload(
    conn: Any, upload_id: str, vendor_id: str, file_name: str, s3_key: str, uploaded_at: datetime, reason: str
) -> None:
    """Unknown or inactive vendor: the upload is recorded as `rejected` with the reason (no FK on vendor_id)."""
    with conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, status, rejection_reason, "
            "upload_timestamp, processing_started_at, processing_completed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, now(), now()) ON CONFLICT (upload_id) DO UPDATE SET "
            "status = EXCLUDED.status, rejection_reason = EXCLUDED.rejection_reason, "
            "processing_completed_at = now(), updated_at = now()",
            (upload_id, vendor_id, file_name, s3_key, STATUS_REJECTED, reason, uploaded_at),
        )


def fail_upload(conn: Any, upload_id: str, total_records: int, message: str) -> None:
    """The parser refused the file: nothing staged, every row (if countable) counted as an error."""
    with conn.cursor() as cursor:
        cursor.execute(
            "UPDATE upload_history SET status = %s, error_message = %s, total_records = NULL, "
            "valid_records = 0, error_records = %s, processing_completed_at = now(), updated_at = now() "
            "WHERE upload_id = %s",
            (STATUS_FAILED, message, total_records, upload_id),
        )


def mark_staged(conn: Any, upload_id: str, total_records: int) -> None:
    """`pending_validation` with the row count, written only after every DynamoDB batch succeeded (the 'staged' marker)."""
    with conn.cursor() as cursor:
        cursor.execute(
            "UPDATE upload_history SET status = %s, total_records = %s, rejection_reason = NULL, "
            "error_message = NULL, updated_at = now() WHERE upload_id = %s",
            (STATUS_STAGED, total_records, upload_id),
        )


def mark_validating(conn: Any, upload_id: str) -> None:
    """Committed before the validator's first item write: from then on items may differ from how they were staged.

    So `pending_validation` proves every item is still exactly as staged (status pending, no errors), which
    lets the validator's first pass skip reading the statuses back; any later run reads them.
    """
    with conn.cursor() as cursor:
        cursor.execute(
            "UPDATE upload_history SET status = %s, updated_at = now() WHERE upload_id = %s AND status = %s",
            (STATUS_VALIDATING, upload_id, STATUS_STAGED),
        )


def finish_upload(conn: Any, upload_id: str, status: str, valid: int, rejected: int) -> str | None:
    """Final counts and status; returns the status it replaced (None when the upload row is missing)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT status FROM upload_history WHERE upload_id = %s FOR UPDATE", (upload_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(
            "UPDATE upload_history SET status = %s, valid_records = %s, error_records = %s, "
            "processing_completed_at = COALESCE(CASE WHEN status = %s THEN processing_completed_at END, now()), "
            "updated_at = now() WHERE upload_id = %s",
            (status, valid, rejected, status, upload_id),
        )
    return row[0]


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int

    @staticmethod
    def total(parts: Iterable["UpsertCounts"]) -> "UpsertCounts":
        """The counts of an upload upserted in several batches."""
        inserted = updated = unchanged = 0
        for part in parts:
            inserted, updated, unchanged = (
                inserted + part.inserted,
                updated + part.updated,
                unchanged + part.unchanged,
            )
        return UpsertCounts(inserted, updated, unchanged)


def upsert_products(conn: Any, rows: Sequence[tuple]) -> UpsertCounts:
    """COPY into a temp table, then one INSERT ... ON CONFLICT (vendor_id, sku) DO UPDATE of changed rows only."""
    if not rows:
        return UpsertCounts(0, 0, 0)
    stage = sql.Identifier(_STAGE_TABLE)
    columns = sql.SQL(", ").join(map(sql.Identifier, PRODUCT_TABLE_COLUMNS))
    changed = sql.SQL(" OR ").join(
        sql.SQL("products.{c} IS DISTINCT FROM EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _UPDATABLE
    )
    assignments = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in [*_UPDATABLE, "source_upload_id"]
    )
    with conn.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS "
                "AS SELECT {columns} FROM products WITH NO DATA"
            ).format(stage=stage, columns=columns)
        )
        copy = sql.SQL("COPY {stage} ({columns}) FROM STDIN").format(stage=stage, columns=columns)
        cursor.copy_expert(copy.as_string(conn), io.StringIO(copy_text(rows)))
        cursor.execute(
            sql.SQL(
                "INSERT INTO products ({columns}) SELECT {columns} FROM {stage} "
                "ON CONFLICT (vendor_id, sku) DO UPDATE SET {assignments}, updated_at = now() WHERE {changed} "
                "RETURNING (xmax = 0)"
            ).format(columns=columns, stage=stage, assignments=assignments, changed=changed)
        )
        flags = [row[0] for row in cursor.fetchall()]
    inserted = sum(flags)
    return UpsertCounts(inserted, len(flags) - inserted, len(rows) - len(flags))


@dataclass(frozen=True)
class SkuDuplicates:
    exact: list[tuple[str, int]]  # the same SKU on several products (the UNIQUE key should make this empty)
    case_only: list[tuple[str, int]]  # SKUs differing only in letter case (allowed, but worth a look)


def duplicate_skus(conn: Any, vendor_id: str) -> SkuDuplicates:
    """Duplicate SKUs of one vendor in products, exact and case-insensitive (at most 20 of each)."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT sku, count(*) FROM products WHERE vendor_id = %s GROUP BY sku HAVING count(*) > 1 "
            "ORDER BY 2 DESC, 1 LIMIT 20",
            (vendor_id,),
        )
        exact = [(sku, count) for sku, count in cursor.fetchall()]
        cursor.execute(
            "SELECT lower(sku), count(DISTINCT sku) FROM products WHERE vendor_id = %s GROUP BY lower(sku) "
            "HAVING count(DISTINCT sku) > 1 ORDER BY 2 DESC, 1 LIMIT 20",
            (vendor_id,),
        )
        case_only = [(sku, count) for sku, count in cursor.fetchall()]
    return SkuDuplicates(exact, case_only)


def copy_text(rows: Sequence[tuple]) -> str:
    """PostgreSQL COPY text format: tab-separated, `\\N` for NULL, backslash escapes for control characters."""
    return "".join("\t".join(_copy_value(v) for v in row) + "\n" for row in rows)


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text
