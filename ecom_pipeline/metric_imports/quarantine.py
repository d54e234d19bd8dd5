"""Whether a downloaded metric file is imported or quarantined, and what its quarantine records.

A file is quarantined when `validation` rejects it: over `max_file_bytes`, not UTF-8, not JSON, not a
non-empty array, or with invalid records. Bad input is never retried: the same bytes fail the same way. The
rejected version is copied (not moved) to `quarantine_prefix + key` with the reason in its S3 metadata and a
`<copy>.rejection.json` beside it, and the same message goes to the dead-letter queue and the notification
topic (`resources/metric_imports/dead_letters.py` does that I/O). The ledger row `rejected` is written
last, so a failure on the way leaves the file due for the sweep.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecom_pipeline.metric_imports.copy_format import copy_text
from ecom_pipeline.metric_imports.rejections import DATABASE_ERROR, MetricFileRejected, Rejection
from ecom_pipeline.metric_imports.selection import FileVersion
from ecom_pipeline.metric_imports.validation import MetricFile, check_size, parse_metric_file

_S3_METADATA_LIMIT = 1024  # user metadata is limited to 2 KB per object in total


@dataclass(frozen=True)
class DownloadedFile:
    """An object's bytes; `file` None: the object is gone; `body` None: over the size limit, left unread."""

    key: str
    file: FileVersion | None
    body: bytes | None = field(default=None, repr=False)
    seconds: float = 0.0


@dataclass(frozen=True)
class PreparedFile:
    """A file read and validated, ready to write; or why it cannot be (`rejection`, or `file` None: missing)."""

    key: str
    file: FileVersion | None
    parsed: MetricFile | None = None
    rows_text: str = field(default="", repr=False)
    rejection: Rejection | None = None
    read_seconds: float = 0.0


def prepare_file(downloaded: DownloadedFile, max_file_bytes: int) -> PreparedFile:
    """Size-check, parse, validate and format one downloaded file: its COPY text, or its rejection."""
    key, file = downloaded.key, downloaded.file
    if file is None:
        return PreparedFile(key, None)
    started = time.perf_counter()
    try:
        check_size(key, file.size_bytes, max_file_bytes)  # raises for the bodies left unread
        assert downloaded.body is not None
        parsed = parse_metric_file(key, downloaded.body, max_file_bytes)
    except MetricFileRejected as rejected:
        return PreparedFile(key, file, rejection=rejected.rejection)
    rows_text = copy_text(parsed)
    seconds = downloaded.seconds + time.perf_counter() - started
    return PreparedFile(key, file, parsed, rows_text, read_seconds=seconds)


def quarantine_key(key: str, quarantine_prefix: str) -> str:
    """Where a rejected file is copied: the same key under the quarantine prefix, so it is easy to find."""
    return f"{quarantine_prefix}{key}"


def quarantine_metadata(file: FileVersion, rejection: Rejection) -> dict[str, str]:
    """S3 user metadata of the quarantined copy: where it came from and why, readable without the JSON."""
    return {
        "source-key": file.key[:_S3_METADATA_LIMIT],
        "source-etag": file.etag,
        "reason-code": rejection.reason_code,
        "record-index": "" if rejection.record_index is None else str(rejection.record_index),
    }


def dead_letter_message(
    file: FileVersion,
    reason_code: str,
    message: str,
    details: dict[str, Any],
    quarantine_prefix: str,
    run_id: str,
    at: datetime,
) -> dict[str, Any]:
    """The one message of a file not imported: the DLQ body, the notification and the `.rejection.json`."""
    return {
        "pipeline": "metric_imports",
        "bucket": file.bucket,
        "key": file.key,
        "etag": file.etag,
        "size_bytes": file.size_bytes,
        "reason_code": reason_code,
        "message": message,
        "record_index": details.get("record_index"),
        "details": details,
        "quarantine_key": quarantine_key(file.key, quarantine_prefix)
        if reason_code != DATABASE_ERROR
        else None,
        "run_id": run_id,
        "at": at.isoformat(),
    }
