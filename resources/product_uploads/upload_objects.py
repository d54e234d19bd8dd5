"""The upload objects on S3: which object version a partition stands for, its bytes, and its error report.

The sensor puts key and ETag in the run tags; a partition launched by hand (UI, backfill) has no tags and is
resolved through its upload_history row. Either way the object must still have the ETag the upload id was made
from: an overwritten key is a different upload (with its own partition), never silently processed here.
"""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from dagster import Failure

from ecom_pipeline.product_uploads.csv_parser import check_upload_size
from ecom_pipeline.product_uploads.object_keys import (
    UPLOAD_ETAG_TAG,
    UPLOAD_KEY_TAG,
    UploadKey,
    parse_upload_key,
)
from ecom_pipeline.product_uploads.upload_id import make_upload_id
from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag
from resources.s3_objects import head_object_version


@dataclass(frozen=True)
class UploadSource:
    upload_id: str
    bucket: str
    upload: UploadKey
    version: S3ObjectVersion

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.upload.key}"


def resolve_upload(
    s3_client: Any, bucket: str, upload_id: str, run_tags: dict[str, str], history_key: str | None
) -> UploadSource:
    """The object behind `upload_id`; raises `Failure` naming the key when it is gone or was replaced."""
    key = run_tags.get(UPLOAD_KEY_TAG) or history_key
    if not key:
        raise Failure(
            f"upload {upload_id}: no {UPLOAD_KEY_TAG} run tag and no upload_history row; "
            "launch it through product_uploads_sensor",
            allow_retries=False,
        )
    upload = parse_upload_key(key)
    if upload is None:
        raise Failure(
            f"upload {upload_id}: {key!r} is not an uploads/{{VENDOR}}/*.csv key", allow_retries=False
        )
    try:
        version = head_object_version(s3_client, bucket, key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise Failure(
                f"upload {upload_id}: s3://{bucket}/{key} no longer exists", allow_retries=False
            ) from None
        raise
    expected = run_tags.get(UPLOAD_ETAG_TAG)
    if (expected and normalize_etag(expected) != version.etag) or make_upload_id(
        upload.vendor_id, version
    ) != upload_id:
        raise Failure(
            f"upload {upload_id}: s3://{bucket}/{key} was replaced by a newer version (ETag {version.etag}); "
            "that version is a separate upload",
            allow_retries=False,
        )
    return UploadSource(upload_id, bucket, upload, version)


def download(s3_client: Any, source: UploadSource, max_bytes: int) -> bytes:
    """The object's bytes, only if it still has the ETag we resolved (IfMatch); `UploadFileError` naming the
    file, before any byte is read, when it is over `max_bytes`."""
    check_upload_size(source.version.size, max_bytes, source.uri)
    try:
        response = s3_client.get_object(
            Bucket=source.bucket, Key=source.upload.key, IfMatch=source.version.etag
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            raise Failure(
                f"upload {source.upload_id}: {source.uri} changed while processing", allow_retries=False
            ) from None
        raise
    data = response["Body"].read(max_bytes + 1)  # never more than the limit, whatever the listing said
    check_upload_size(len(data), max_bytes, source.uri)
    return data


def put_error_report(s3_client: Any, bucket: str, key: str, report: bytes) -> str:
    """Write an upload's error report CSV; returns its `s3://` URI."""
    s3_client.put_object(Bucket=bucket, Key=key, Body=report, ContentType="text/csv; charset=utf-8")
    return f"s3://{bucket}/{key}"
