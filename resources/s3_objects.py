"""Listing and reading object versions on S3: the one way sensors and assets see a bucket.

Callers pass the cached client of their resource (`AwsClientResource.client("s3")`).
"""

from collections.abc import Iterator
from typing import Any

from ecom_pipeline.s3_objects import S3ObjectVersion


def list_object_versions(
    client: Any, bucket: str, prefix: str, start_after: str = "", page_size: int = 1000
) -> Iterator[S3ObjectVersion]:
    """Every object under `prefix` (after `start_after`), in S3's key order, one page at a time."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": page_size}}
    if start_after:
        kwargs["StartAfter"] = start_after
    for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
        for item in page.get("Contents", ()):
            yield S3ObjectVersion.from_response(item)


def head_object_version(client: Any, bucket: str, key: str) -> S3ObjectVersion:
    """The current version of one object (raises botocore's ClientError 404 when it is gone)."""
    return S3ObjectVersion.from_response(client.head_object(Bucket=bucket, Key=key), key=key)
