"""Listing new upload objects for `product_uploads_sensor`: per vendor folder after its cursor, then a sweep page.

Every call is one `resources.s3_objects.list_page`, so a tick's work is bounded and counted:
- the vendor-folder listing and each folder's key listing use the `/` delimiter, so `error_reports/` and deeper
  paths are never listed and never become a folder's StartAfter cursor (report keys sort after upper-case
  file names: a cursor on one would hide every later `VEND001_*.csv` from the fast path);
- the sweep reads exactly one page per tick and finishes its pass when the listing is complete.
Listing strategy and cursor: ecom_pipeline/product_uploads/sensor_cursor.py.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecom_pipeline.product_uploads.object_keys import parse_upload_key, vendor_folder_of
from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor
from ecom_pipeline.s3_objects import S3ObjectVersion
from resources.product_uploads.config import ProductUploadsConfig
from resources.s3_objects import ListedPage, list_page


@dataclass
class UploadScan:
    """What one tick found, and how much listing it took (for the tick log and the tests)."""

    objects: list[S3ObjectVersion] = field(default_factory=list)
    list_calls: int = 0
    keys_listed: int = 0
    vendors: int = 0
    sweep_pass_finished: bool = False


def scan_uploads(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    now: datetime,
    already_requested: Callable[[S3ObjectVersion], bool] = lambda obj: False,
) -> UploadScan:
    """New upload objects per vendor folder after its cursor, then one sweep page; advances `cursor`.

    `already_requested` lets the sweep skip object versions that already have a partition, so a pass does
    not re-request every recent upload.
    """
    scan = UploadScan()
    cursor.start_if_new(now)
    budget = config.sensor_max_runs_per_tick
    seen: set[str] = set()  # versions (key@etag) the fast path found this tick
    for vendor in _vendor_folders(client, config, scan):
        if budget <= 0:
            break
        budget = _scan_vendor(client, config, cursor, vendor, budget, scan, seen)
    if budget > 0:
        _sweep_page(client, config, cursor, budget, scan, seen, now, already_requested)
    return scan


def _list(client: Any, scan: UploadScan, prefix: str, **kwargs: Any) -> ListedPage:
    page = list_page(client, kwargs.pop("bucket"), prefix, **kwargs)
    scan.list_calls += 1
    scan.keys_listed += len(page.objects)
    return page


def _vendor_folders(client: Any, config: ProductUploadsConfig, scan: UploadScan) -> list[str]:
    vendors: list[str] = []
    token: str | None = None
    while True:
        page = _list(
            client,
            scan,
            config.uploads_prefix,
            bucket=config.uploads_bucket,
            delimiter="/",
            max_keys=config.sensor_page_size,
            continuation_token=token,
        )
        for folder in page.folders:
            vendor = vendor_folder_of(folder, config.uploads_prefix)
            if vendor:
                vendors.append(vendor)
        if not page.next_token:
            break
        token = page.next_token
    scan.vendors = len(vendors)
    return vendors


def _scan_vendor(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    vendor: str,
    budget: int,
    scan: UploadScan,
    seen: set[str],
) -> int:
    """Keys of one vendor folder after its cursor (the delimiter keeps error_reports/ and deeper paths out)."""
    token: str | None = None
    while True:
        page = _list(
            client,
            scan,
            f"{config.uploads_prefix}{vendor}/",
            bucket=config.uploads_bucket,
            delimiter="/",
            max_keys=config.sensor_page_size,
            start_after=cursor.vendor_after.get(vendor, ""),
            continuation_token=token,
        )
        for obj in page.objects:
            if budget <= 0:
                return 0
            cursor.vendor_after[vendor] = obj.key
            if parse_upload_key(obj.key, config.uploads_prefix):
                scan.objects.append(obj)
                seen.add(obj.version)
                budget -= 1
        if not page.next_token:
            return budget
        token = page.next_token


def _sweep_page(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    budget: int,
    scan: UploadScan,
    seen: set[str],
    now: datetime,
    already_requested: Callable[[S3ObjectVersion], bool],
) -> None:
    page = _list(
        client,
        scan,
        config.uploads_prefix,
        bucket=config.uploads_bucket,
        max_keys=config.sensor_sweep_keys_per_tick,
        start_after=cursor.sweep_after,
    )
    for obj in page.objects:
        if parse_upload_key(obj.key, config.uploads_prefix) and cursor.sweep_wants(obj.last_modified):
            if obj.version not in seen and not already_requested(obj):
                if budget <= 0:
                    return  # resume at this key next tick
                scan.objects.append(obj)
                budget -= 1
        cursor.sweep_after = obj.key
    if not page.next_token:
        cursor.finish_sweep_pass(now)
        scan.sweep_pass_finished = True
