"""Listing and reading object versions on S3: the one way sensors and assets see a bucket.

Callers pass the cached client of their resource (`AwsClientResource.client("s3")`). `list_page` is one
ListObjectsV2 call, for callers that bound their work per call (a sensor tick); the other two page through
a whole prefix; `scan_prefix` is the bounded tick of the metric imports and energy series sensors.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecom_pipeline.s3_objects import S3ObjectVersion, s3_console_url
from ecom_pipeline.sensor_cursors import PrefixScanCursor


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


def list_pages(
    client: Any, bucket: str, prefix: str, start_after: str = "", page_size: int = 1000
) -> Iterator[ListedPage]:
    """Every page of objects under `prefix` (after `start_after`), so a caller can work page by page."""
    return _pages(client, bucket, prefix, start_after=start_after, max_keys=page_size)


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


@dataclass
class PrefixScan:
    """What one sensor tick's bounded scan found, and how much listing it took."""

    fast: list[S3ObjectVersion] = field(default_factory=list)  # keys after their folder's cursor, new
    swept: list[S3ObjectVersion] = field(default_factory=list)  # the reconciliation page's unoffered versions
    page: list[S3ObjectVersion] = field(default_factory=list)  # the whole reconciliation page (wanted keys)
    list_calls: int = 0
    keys_listed: int = 0
    pass_finished: bool = False


def scan_prefix(
    client: Any,
    bucket: str,
    prefix: str,
    folders: Sequence[str],
    cursor: PrefixScanCursor,
    now: datetime,
    *,
    budget: int,
    wanted: Callable[[str], bool] = lambda key: True,
    page_size: int = 1000,
    fast_pages_per_folder: int = 5,
    sweep_page_size: int = 1000,
) -> PrefixScan:
    """One tick of `PrefixScanCursor`'s scan: keys after each folder's cursor (at most `budget` new ones and
    `fast_pages_per_folder` calls per folder), then one reconciliation page of `prefix`; advances `cursor`.

    The tick costs at most `len(folders) * fast_pages_per_folder + 1` ListObjectsV2 calls whatever the bucket
    holds. Only keys for which `wanted(key)` holds are returned; the caller offers (`cursor.offer`) the
    reconciliation versions it handles. `page` is the whole reconciliation page, for a caller that also checks
    older versions against its own store (the metric imports ledger).
    """
    scan = PrefixScan()
    cursor.start_pass_if_new(now)
    for folder in folders:
        for _ in range(fast_pages_per_folder):
            if budget <= 0:
                break
            page = list_page(
                client, bucket, folder, start_after=cursor.after.get(folder, ""), max_keys=page_size
            )
            scan.list_calls += 1
            scan.keys_listed += len(page.objects)
            for obj in page.objects:
                if budget <= 0:
                    break
                cursor.after[folder] = obj.key
                if wanted(obj.key) and cursor.fast_path_wants(obj):
                    scan.fast.append(obj)
                    cursor.offer(obj)
                    budget -= 1
            if not page.next_token:
                break
    page = list_page(client, bucket, prefix, start_after=cursor.sweep_after, max_keys=sweep_page_size)
    scan.list_calls += 1
    scan.keys_listed += len(page.objects)
    for obj in page.objects:
        if wanted(obj.key):
            scan.page.append(obj)
            if cursor.sweep_wants(obj):
                scan.swept.append(obj)
        cursor.sweep_after = obj.key
    if not page.next_token:
        cursor.finish_pass(now)
        scan.pass_finished = True
    return scan


LOCAL_LINK_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL lives


def object_link(client: Any, bucket: str, key: str, endpoint_url: str | None) -> str:
    """A link for the UI's metadata to an object, or a folder listing when `key` ends with `/`.

    On AWS (no endpoint override) the S3 console page (ecom_pipeline.s3_objects.s3_console_url says why not
    a presigned URL there). Against a local endpoint (moto) a presigned URL: the local server refuses
    unsigned reads, no console exists, and the local credentials are the stack's dummy ones.
    """
    if not endpoint_url:
        return s3_console_url(bucket, key, client.meta.region_name)
    if key.endswith("/"):
        operation, params = "list_objects_v2", {"Bucket": bucket, "Prefix": key}
    else:
        operation, params = "get_object", {"Bucket": bucket, "Key": key}
    return client.generate_presigned_url(operation, Params=params, ExpiresIn=LOCAL_LINK_SECONDS)
