"""Upload ids: the `product_uploads` partition key and the `upload_history` / `UploadRecords` key.

Format: `UPLOAD_{VENDOR}_{YYYYMMDD}_{HHMMSS}_{DIGEST}`, e.g. `UPLOAD_VEND001_20241221_103045_3f9a1c2b7d`.

- `VENDOR` is the vendor folder with every character outside `[A-Za-z0-9-]` replaced by `-` (max 24).
- the timestamp is the object's S3 `LastModified` in UTC, not the time it was processed: two vendors uploading
  in the same second still differ by digest, and a replayed notification gets the same id.
- `DIGEST` is the first 10 hex digits of sha256(key + NUL + ETag): two different objects never share an id
  even if vendor names collapse to the same text, and one object version always gets the same id, so a
  duplicate or replayed notification maps to the same partition.

An overwritten key (new ETag) is a new upload with a new id. The id is at most 58 characters.
The sensor (from a listing) and the assets (from HeadObject) both call `make_upload_id` with the object's
`S3ObjectVersion`, so the id cannot be built two ways.
"""

import hashlib
import re
from datetime import UTC

from ecom_pipeline.s3_objects import S3ObjectVersion

UPLOAD_ID_PATTERN = re.compile(r"^UPLOAD_[A-Za-z0-9-]{1,24}_\d{8}_\d{6}_[0-9a-f]{10}$")
_VENDOR_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
_VENDOR_MAX = 24
_DIGEST_LENGTH = 10


def make_upload_id(vendor_id: str, version: S3ObjectVersion) -> str:
    """The deterministic id of one object version of `vendor_id`'s folder (format: module docstring)."""
    if version.last_modified.tzinfo is None:
        raise ValueError("last_modified must be timezone-aware (S3 returns UTC)")
    vendor = _VENDOR_UNSAFE.sub("-", vendor_id)[:_VENDOR_MAX] or "-"
    stamp = version.last_modified.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
    digest = hashlib.sha256(f"{version.key}\x00{version.etag}".encode()).hexdigest()[:_DIGEST_LENGTH]
    return f"UPLOAD_{vendor}_{stamp}_{digest}"


def is_upload_id(value: str) -> bool:
    return bool(UPLOAD_ID_PATTERN.match(value))
