"""Listing and reading object versions on S3: the one way sensors and assets see a bucket.

Callers pass the cached client of their resource (`AwsClientResource.client("s3")`). `list_page` is one
ListObjectsV2 call, for callers that bound their work per call (a sensor tick); the other two page through
a whole prefix.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ecom_pipeline.s3_objects import S3ObjectVersion


@dataclass(frozen=True)
class ListedPage:
    objects: list[S3ObjectVersion] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # CommonPrefixes, with a delimiter
    next_token: str | None = None  # continue with this token; None when the listing is complete


def list_page(
    client: Any,
    bucket: str,
    prefix: str,
    *,
    start_after: str = "",
    continuation_token: str | None = None,
    max_keys: int = 1000,
    delimiter: str | None = None,
) -> ListedPage:
    """One ListObjectsV2 call: at most `max_keys` entries after `start_after` (or the token) in key order."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
    if continuation_token:
        kwargs["ContinuationToken"] = continuation_token
    elif start_after:
        kwargs["StartAfter"] = start_after
    if delimiter:
        kwargs["Delimiter"] = delimiter
    response = client.list_objects_v2(**kwargs)
    return ListedPage(
        objects=[S3ObjectVersion.from_response(item) for item in response.get("Contents", ())],
        folders=[entry["Prefix"] for entry in response.get("CommonPrefixes", ())],
        next_token=response.get("NextContinuationToken") if response.get("IsTruncated") else None,
    )


def _pages(client: Any, bucket: str, prefix: str, **kwargs: Any) -> Iterator[ListedPage]:
    page = list_page(client, bucket, prefix, **kwargs)
    yield page
    while page.next_token:
        page = list_page(client, bucket, prefix, continuation_token=page.next_token, **kwargs)
        yield page


def list_object_versions(
    client: Any, bucket: str, prefix: str, start_after: str = "", page_size: int = 1000
) -> Iterator[S3ObjectVersion]:
    """Every object under `prefix` (after `start_after`), in S3's key order, one page at a time."""
    for page in _pages(client, bucket, prefix, start_after=start_after, max_keys=page_size):
        yield from page.objects


def list_folders(client: Any, bucket: str, prefix: str, page_size: int = 1000) -> list[str]:
    """The immediate sub-prefixes ("folders", ending in `/`) of `prefix`."""
    return [
        folder
        for page in _pages(client, bucket, prefix, max_keys=page_size, delimiter="/")
        for folder in page.folders
    ]


def head_object_version(client: Any, bucket: str, key: str) -> S3ObjectVersion:
    """The current version of one object (raises botocore's ClientError 404 when it is gone)."""
    return S3ObjectVersion.from_response(client.head_object(Bucket=bucket, Key=key), key=key)
