"""The quarantine decision: which downloaded files are imported, which are quarantined, and the message."""

import json
from datetime import UTC, datetime

from ecom_pipeline.metric_imports.quarantine import (
    DownloadedFile,
    dead_letter_message,
    prepare_file,
    quarantine_metadata,
)
from ecom_pipeline.metric_imports.rejections import DATABASE_ERROR, INVALID_JSON, TOO_LARGE
from ecom_pipeline.metric_imports.selection import FileVersion

KEY = "imports/a.json"
GOOD = json.dumps([{"name": "cpu", "value": 1.5, "timestamp": "2026-03-17T12:00:00Z"}]).encode()


def _downloaded(body: bytes | None, size: int | None = None) -> DownloadedFile:
    return DownloadedFile(
        KEY, FileVersion("bucket", KEY, "e1", len(body or b"") if size is None else size), body
    )


def test_a_valid_file_is_formatted_for_copy():
    prepared = prepare_file(_downloaded(GOOD), max_file_bytes=1000)
    assert prepared.rejection is None and prepared.parsed is not None and len(prepared.parsed) == 1
    assert prepared.rows_text.startswith("cpu\t1.5\t")


def test_bad_input_and_oversized_files_are_rejected_and_a_missing_one_is_neither():
    assert prepare_file(_downloaded(b"not json"), max_file_bytes=1000).rejection.reason_code == INVALID_JSON
    unread = prepare_file(_downloaded(None, size=5000), max_file_bytes=1000)
    assert unread.rejection.reason_code == TOO_LARGE and unread.parsed is None
    missing = prepare_file(DownloadedFile(KEY, None), max_file_bytes=1000)
    assert missing.file is None and missing.rejection is None


def test_the_message_names_the_quarantine_copy_except_for_database_errors():
    file = FileVersion("bucket", KEY, "e1", 10)
    rejection = prepare_file(_downloaded(b"not json"), max_file_bytes=1000).rejection
    at = datetime(2026, 3, 17, tzinfo=UTC)
    rejected = dead_letter_message(
        file, rejection.reason_code, rejection.message, rejection.as_dict(), "quarantine/", "run-1", at
    )
    assert rejected["quarantine_key"] == "quarantine/imports/a.json" and rejected["etag"] == "e1"
    assert rejected["at"] == at.isoformat() and rejected["pipeline"] == "metric_imports"
    failed = dead_letter_message(file, DATABASE_ERROR, "db down", {"error": "x"}, "quarantine/", "run-1", at)
    assert failed["quarantine_key"] is None and failed["record_index"] is None
    metadata = quarantine_metadata(file, rejection)
    assert metadata["source-key"] == KEY and metadata["reason-code"] == INVALID_JSON
