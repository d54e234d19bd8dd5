"""`product_uploads_sensor`: one `product_uploads` partition and run per new `uploads/{VENDOR_ID}/*.csv` object.

Listing strategy and its trade-offs: see ecom_pipeline/uploads/sensor_cursor.py. Every list call is bounded by
`MaxKeys`; a tick never lists the bucket from the start (except the very first one, which has no cursor).
The run key is key + ETag, so a replayed or duplicate discovery of the same object version is dropped by
Dagster, while an overwritten object (new ETag) is a new upload.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from assets.partitions import product_upload_partitions
from assets.product_uploads import product_uploads_job
from ecom_pipeline.product_uploads.object_keys import (
    UPLOAD_ETAG_TAG,
    UPLOAD_KEY_TAG,
    parse_upload_key,
    vendor_folder_of,
)
from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor
from ecom_pipeline.product_uploads.upload_id import make_upload_id, normalize_etag
from resources.product_uploads.upload_records_table import ProductUploadsConfig


@dataclass
class UploadScan:
    """What one tick found, and how much listing it took (for the tick log and the tests)."""

    objects: list[dict[str, Any]] = field(default_factory=list)  # ListObjectsV2 `Contents` entries
    list_calls: int = 0
    keys_listed: int = 0
    vendors: int = 0
    sweep_pass_finished: bool = False

    def add(self, obj: dict[str, Any]) -> None:
        self.objects.append(obj)


def scan_uploads(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    now: datetime,
    already_requested: Callable[[dict[str, Any]], bool] = lambda obj: False,
) -> UploadScan:
    """New upload objects per vendor folder after its cursor, then one sweep page; advances `cursor`.

    `already_requested` lets the sweep skip object versions that already have a partition, so a pass does
    not re-request every recent upload.
    """
    scan = UploadScan()
    cursor.start_if_new(now)
    budget = config.sensor_max_runs_per_tick
    seen: set[tuple[str, str]] = set()
    for vendor in _vendor_folders(client, config, scan):
        if budget <= 0:
            break
        budget = _scan_vendor(client, config, cursor, vendor, budget, scan, seen)
    if budget > 0:
        _sweep_page(client, config, cursor, budget, scan, seen, now, already_requested)
    return scan


def _list(client: Any, scan: UploadScan, **kwargs: Any) -> dict[str, Any]:
    response = client.list_objects_v2(**kwargs)
    scan.list_calls += 1
    scan.keys_listed += len(response.get("Contents", []))
    return response


def _vendor_folders(client: Any, config: ProductUploadsConfig, scan: UploadScan) -> list[str]:
    vendors: list[str] = []
    kwargs: dict[str, Any] = {
        "Bucket": config.uploads_bucket,
        "Prefix": config.uploads_prefix,
        "Delimiter": "/",
        "MaxKeys": config.sensor_page_size,
    }
    while True:
        response = _list(client, scan, **kwargs)
        for entry in response.get("CommonPrefixes", []):
            vendor = vendor_folder_of(entry["Prefix"], config.uploads_prefix)
            if vendor:
                vendors.append(vendor)
        if not response.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = response["NextContinuationToken"]
    scan.vendors = len(vendors)
    return vendors


def _scan_vendor(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    vendor: str,
    budget: int,
    scan: UploadScan,
    seen: set[tuple[str, str]],
) -> int:
    """Keys of one vendor folder after its cursor (Delimiter keeps error_reports/ and deeper paths out)."""
    kwargs: dict[str, Any] = {
        "Bucket": config.uploads_bucket,
        "Prefix": f"{config.uploads_prefix}{vendor}/",
        "Delimiter": "/",
        "MaxKeys": config.sensor_page_size,
    }
    if cursor.vendor_after.get(vendor):
        kwargs["StartAfter"] = cursor.vendor_after[vendor]
    while True:
        response = _list(client, scan, **kwargs)
        for obj in response.get("Contents", []):
            if budget <= 0:
                return 0
            cursor.vendor_after[vendor] = obj["Key"]
            if parse_upload_key(obj["Key"], config.uploads_prefix):
                scan.add(obj)
                seen.add((obj["Key"], normalize_etag(obj["ETag"])))
                budget -= 1
        if not response.get("IsTruncated"):
            return budget
        kwargs.pop("StartAfter", None)
        kwargs["ContinuationToken"] = response["NextContinuationToken"]


def _sweep_page(
    client: Any,
    config: ProductUploadsConfig,
    cursor: UploadSensorCursor,
    budget: int,
    scan: UploadScan,
    seen: set[tuple[str, str]],
    now: datetime,
    already_requested: Callable[[dict[str, Any]], bool],
) -> None:
    kwargs: dict[str, Any] = {
        "Bucket": config.uploads_bucket,
        "Prefix": config.uploads_prefix,
        "MaxKeys": config.sensor_sweep_keys_per_tick,
    }
    if cursor.sweep_after:
        kwargs["StartAfter"] = cursor.sweep_after
    response = _list(client, scan, **kwargs)
    for obj in response.get("Contents", []):
        if parse_upload_key(obj["Key"], config.uploads_prefix) and cursor.sweep_wants(obj["LastModified"]):
            if (obj["Key"], normalize_etag(obj["ETag"])) not in seen and not already_requested(obj):
                if budget <= 0:
                    return  # resume at this key next tick
                scan.add(obj)
                budget -= 1
        cursor.sweep_after = obj["Key"]
    if not response.get("IsTruncated"):
        cursor.finish_sweep_pass(now)
        scan.sweep_pass_finished = True


def upload_run_request(obj: dict[str, Any], prefix: str) -> RunRequest:
    """The partition (upload id) and run of one listed object version."""
    upload = parse_upload_key(obj["Key"], prefix)
    assert upload is not None
    etag = normalize_etag(obj["ETag"])
    return RunRequest(
        run_key=f"{upload.key}:{etag}",
        partition_key=make_upload_id(upload.vendor_id, obj["LastModified"], upload.key, etag),
        tags={UPLOAD_KEY_TAG: upload.key, UPLOAD_ETAG_TAG: etag},
    )


@sensor(
    name="product_uploads_sensor",
    job=product_uploads_job,
    minimum_interval_seconds=30,
    description="Requests one product_uploads_job run per new vendor CSV under uploads/{VENDOR_ID}/.",
)
def product_uploads_sensor(
    context: SensorEvaluationContext, product_uploads_config: ProductUploadsConfig
) -> SensorResult:
    cursor = UploadSensorCursor.from_json(context.cursor)
    prefix = product_uploads_config.uploads_prefix

    def has_partition(obj: dict[str, Any]) -> bool:
        partition_key = upload_run_request(obj, prefix).partition_key
        return bool(partition_key) and context.instance.has_dynamic_partition(
            product_upload_partitions.name, partition_key
        )

    scan = scan_uploads(
        product_uploads_config.client("s3"), product_uploads_config, cursor, datetime.now(UTC), has_partition
    )
    requests = [upload_run_request(obj, prefix) for obj in scan.objects]
    new_partitions = sorted(
        {
            r.partition_key
            for r in requests
            if r.partition_key
            and not context.instance.has_dynamic_partition(product_upload_partitions.name, r.partition_key)
        }
    )
    stats = (
        f"{scan.vendors} vendor folders, {scan.list_calls} list calls, {scan.keys_listed} keys listed, "
        f"{len(requests)} uploads requested" + (", sweep pass finished" if scan.sweep_pass_finished else "")
    )
    context.log.info(stats)
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=(
            [product_upload_partitions.build_add_request(new_partitions)] if new_partitions else []
        ),
        cursor=cursor.to_json(),
        skip_reason=None if requests else f"no new uploads ({stats})",
    )
