"""`product_uploads_sensor`: one `product_uploads` partition and run per new `uploads/{VENDOR_ID}/*.csv` object.

Listing strategy and its trade-offs: ecom_pipeline/product_uploads/sensor_cursor.py; the list calls:
resources/product_uploads/upload_listing.py. Every list call is bounded by `MaxKeys`; a tick never lists the
bucket from the start (except the very first one, which has no cursor). The run key is key + ETag, so a
replayed or duplicate discovery of the same object version is dropped by Dagster, while an overwritten
object (new ETag) is a new upload.
"""

from datetime import UTC, datetime

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from assets.partitions import product_upload_partitions
from assets.product_uploads import product_uploads_job
from ecom_pipeline.product_uploads.object_keys import (
    UPLOAD_ETAG_TAG,
    UPLOAD_KEY_TAG,
    parse_upload_key,
)
from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor
from ecom_pipeline.product_uploads.upload_id import make_upload_id
from ecom_pipeline.s3_objects import S3ObjectVersion
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_listing import scan_uploads


def upload_run_request(obj: S3ObjectVersion, prefix: str) -> RunRequest:
    """The partition (upload id) and run of one object version."""
    upload = parse_upload_key(obj.key, prefix)
    assert upload is not None
    return RunRequest(
        run_key=f"{upload.key}:{obj.etag}",
        partition_key=make_upload_id(upload.vendor_id, obj),
        tags={UPLOAD_KEY_TAG: upload.key, UPLOAD_ETAG_TAG: obj.etag},
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

    def has_partition(obj: S3ObjectVersion) -> bool:
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
