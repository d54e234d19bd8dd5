"""The validator's middle: validate the rebuilt rows, write what changed, upsert products, send rejects.

Why it lives in assets/: it is the `validated_products` step's glue. It makes no store call of its own (the
items go through `UploadRecordsResource.writer()`, the upsert and the SQS send are callbacks the asset binds
to its resources) and its decisions are pure functions in ecom_pipeline/product_uploads/ (`iter_outcomes`,
`outcome_changed`, the item builders). What it owns is the order of the writes across three stores, which is
the point and deserves its own page:

- outcomes are streamed (`iter_outcomes`): each valid row's item goes to the DynamoDB writer as soon as it is
  validated, so validation and item building overlap the writes;
- rejected rows' items are held back until their SQS messages are sent (at-least-once: a crash between the
  two re-sends the message on the next run, it is never lost);
- valid rows are upserted into products in batches of `UPSERT_BATCH_ROWS` on one side thread while the
  validation and the writes go on, so memory holds a batch of rows, not the upload. The side thread is the
  only PostgreSQL user meanwhile (the process shares one connection), and the upsert is unconditional on
  every run, so a crash that leaves items `validated` before their products are upserted converges on the
  re-run.

`stored` is None on the validator's first pass (upload_history still `pending_validation`: every item is as
staged, see `products_table.mark_validating`); otherwise it maps record id to the item's stored status and
errors, and only items whose outcome differs are written and only newly rejected rows are sent.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import tee
from typing import Any

from ecom_pipeline.product_uploads.csv_parser import StagedRow
from ecom_pipeline.product_uploads.records import (
    error_message,
    outcome_changed,
    staged_item,
    staged_record,
    stored_status,
    with_outcome,
)
from ecom_pipeline.product_uploads.validation import STATUS_PENDING, RowOutcome, iter_outcomes
from resources.product_uploads.products_table import UpsertCounts
from resources.product_uploads.upload_records_table import UploadRecordsResource


@dataclass(frozen=True)
class UploadContext:
    upload_id: str
    vendor_id: str
    s3_key: str
    total: int
    created_at: str  # the staged items' created_at (fixed per upload)
    validated_at: str


UPSERT_BATCH_ROWS = 5_000


@dataclass
class ValidationOutcome:
    valid_count: int
    rejected: list[RowOutcome]  # kept whole: the error report, the SQS messages and the metadata need them
    items_changed: int
    sqs_sent: int
    upserted: UpsertCounts
    statuses: Counter  # what the table holds afterwards: status -> items


def validate_and_write(
    rows: Iterable[StagedRow],
    upload: UploadContext,
    stored: Mapping[str, Mapping[str, Any]] | None,
    records: UploadRecordsResource,
    send_rejects: Callable[[list[dict[str, Any]]], int],
    upsert_products: Callable[[list[RowOutcome]], UpsertCounts],
) -> ValidationOutcome:
    """Validate `rows` (in row order, streamed), write changed items, upsert valid products in batches, send
    newly rejected rows."""
    valid_count = 0
    batch: list[RowOutcome] = []
    upserts: list[Future[UpsertCounts]] = []
    rejected: list[RowOutcome] = []
    held_back: list[tuple[RowOutcome, dict[str, Any]]] = []
    if stored is None:
        statuses = Counter({STATUS_PENDING: upload.total})
    else:
        statuses = Counter(state["status"]["S"] for state in stored.values())
    changed = 0
    # Two views of one stream, consumed in step by the zip below, so tee holds at most one row.
    rows, rows_to_validate = tee(rows)
    outcomes = iter_outcomes(staged_record(row, upload.total) for row in rows_to_validate)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="products-upsert") as side:
        with records.writer() as writer:
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome.errors:
                    rejected.append(outcome)
                else:
                    valid_count += 1
                    batch.append(outcome)
                    if len(batch) >= UPSERT_BATCH_ROWS:
                        upserts.append(side.submit(upsert_products, batch))
                        batch = []
                before = None if stored is None else stored[outcome.record_id]
                if not outcome_changed(before, outcome):
                    continue
                changed += 1
                statuses[stored_status(before)] -= 1
                statuses[outcome.status] += 1
                item = with_outcome(
                    staged_item(upload.upload_id, upload.vendor_id, row, upload.total, upload.created_at),
                    outcome,
                    upload.validated_at,
                )
                if outcome.errors:
                    held_back.append((outcome, item))
                else:
                    writer.put(item)
            if batch or not upserts:
                upserts.append(side.submit(upsert_products, batch))
            sent = send_rejects(
                [error_message(upload.upload_id, upload.vendor_id, upload.s3_key, o) for o, _ in held_back]
            )
            writer.put_all(item for _, item in held_back)
        counts = UpsertCounts.total(future.result() for future in upserts)
    return ValidationOutcome(
        valid_count=valid_count,
        rejected=rejected,
        items_changed=changed,
        sqs_sent=sent,
        upserted=counts,
        statuses=+statuses,
    )
