"""The one parser for the loader's trigger payloads.

Both shapes an external trigger can take go through `parse_event`: an S3 notification (`{"Records": [...]}`, keys
URL-encoded by S3) and the Step Functions payload (`{"bucket": ..., "key": ...}`). The sensor's own listing
and a hand-replayed trigger therefore produce identical object references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class InvalidEventError(ValueError):
    """The payload is neither an S3 event nor a `{bucket, key}` object."""


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str


def _require_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _parse_s3_record(record: Any, index: int) -> ObjectRef:
    where = f"Records[{index}]"
    if not isinstance(record, Mapping) or not isinstance(record.get("s3"), Mapping):
        raise InvalidEventError(f"{where} has no 's3' object")
    s3 = record["s3"]
    bucket = (s3.get("bucket") or {}).get("name")
    key = (s3.get("object") or {}).get("key")
    # S3 notifications URL-encode object keys ('+' for space); the Step Functions payload does not.
    return ObjectRef(
        bucket=_require_str(bucket, f"{where}.s3.bucket.name"),
        key=unquote_plus(_require_str(key, f"{where}.s3.object.key")),
    )


def parse_event(event: Mapping[str, Any]) -> list[ObjectRef]:
    """Every (bucket, key) an S3 event or a `{bucket, key}` payload refers to, in payload order."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise InvalidEventError("'Records' must be a non-empty list")
        return [_parse_s3_record(record, index) for index, record in enumerate(records)]
    if "bucket" in event or "key" in event:
        return [
            ObjectRef(
                bucket=_require_str(event.get("bucket"), "bucket"),
                key=_require_str(event.get("key"), "key"),
            )
        ]
    raise InvalidEventError(
        "event has neither 'Records' (S3 event) nor 'bucket'/'key' (Step Functions input)"
    )
