"""Where vendor uploads live in the uploads bucket, and where their error reports go.

A vendor upload is exactly `uploads/{VENDOR_ID}/{file}.csv`: one folder level per vendor and no deeper, so
the error reports written to `uploads/{VENDOR_ID}/error_reports/` are never mistaken for uploads. Keys are
the decoded keys S3 lists (spaces, `+` and unicode are ordinary characters here); keys taken from an S3 event
notification are URL-encoded with `+` for a space and must go through `decode_event_key` first.
"""

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

UPLOADS_PREFIX = "uploads/"
ERROR_REPORTS_FOLDER = "error_reports"
_CSV_SUFFIX = ".csv"
# A vendor folder name as it may appear in the bucket; the vendors table decides whether it is a real vendor.
_VENDOR_FOLDER = re.compile(r"^[^/\x00-\x1f]{1,64}$")


@dataclass(frozen=True)
class UploadKey:
    """A parsed upload object key."""

    key: str
    vendor_id: str
    file_name: str

    @property
    def vendor_prefix(self) -> str:
        return f"{UPLOADS_PREFIX}{self.vendor_id}/"


def parse_upload_key(key: str, prefix: str = UPLOADS_PREFIX) -> UploadKey | None:
    """The vendor and file name of `prefix{VENDOR}/{file}.csv`; None for anything else (deeper paths, other suffixes)."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) != 2:
        return None
    vendor_id, file_name = parts
    if not _VENDOR_FOLDER.match(vendor_id) or vendor_id != vendor_id.strip():
        return None
    if not file_name.lower().endswith(_CSV_SUFFIX) or len(file_name) <= len(_CSV_SUFFIX):
        return None
    return UploadKey(key=key, vendor_id=vendor_id, file_name=file_name)


def vendor_folder_of(common_prefix: str, prefix: str = UPLOADS_PREFIX) -> str | None:
    """The vendor id of a listed common prefix `uploads/{VENDOR}/`, or None if it is not a vendor folder."""
    if not common_prefix.startswith(prefix) or not common_prefix.endswith("/"):
        return None
    vendor_id = common_prefix[len(prefix) : -1]
    return vendor_id if vendor_id and "/" not in vendor_id and _VENDOR_FOLDER.match(vendor_id) else None


def decode_event_key(event_key: str) -> str:
    """An S3 event notification's object key (URL-encoded, `+` for space) as the real key."""
    return unquote_plus(event_key, encoding="utf-8", errors="strict")


def error_report_key(upload: UploadKey, upload_id: str) -> str:
    """`uploads/{VENDOR}/error_reports/{file stem}.{upload_id}.errors.csv`: next to the upload, one per upload."""
    stem = posixpath.splitext(upload.file_name)[0]
    return f"{upload.vendor_prefix}{ERROR_REPORTS_FOLDER}/{stem}.{upload_id}.errors.csv"


# Run tags with which product_uploads_sensor names the exact object version a run processes.
UPLOAD_KEY_TAG = "ecom/upload_key"
UPLOAD_ETAG_TAG = "ecom/upload_etag"
