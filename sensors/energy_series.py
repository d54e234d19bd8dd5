"""`energy_series_sensor`: new processed Parquet in the series bucket becomes a run of its (dataset, day) partition.

Outside Dagster the loader is triggered by an S3 notification or a Step Functions `{bucket, key}` payload;
both go through `ecom_pipeline.energy_series.events.parse_event`, here and in `run_requests_for_event`, so
an external trigger can be replayed by hand and gets the same run key as the sensor would have given it:

    python -m sensors.energy_series '{"bucket": "ecom-energy-series-local", "key": "processed/dataset=...parquet"}'
"""

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from dagster import (
    DefaultSensorStatus,
    MultiPartitionKey,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.energy_series import energy_series_job
from assets.partitions import energy_series_partitions
from ecom_pipeline.constants import PARTITIONS_START_DATE
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.events import parse_event
from ecom_pipeline.energy_series.selection import PartitionRequest, partition_requests
from ecom_pipeline.s3_objects import S3ObjectVersion
from ecom_pipeline.sensor_cursors import PrefixScanCursor
from resources.energy_series.config import EnergySeriesConfig
from resources.s3_objects import head_object_version, scan_prefix

TRIGGER_TAG = "ecom/series_trigger"
OBJECTS_TAG = "ecom/series_objects"


def partition_exists(request: PartitionRequest) -> bool:
    """Daily partitions end with yesterday (UTC); a file for today waits until its day is complete."""
    days = energy_series_partitions.get_partitions_def_for_dimension("date")
    return days.has_partition_key(request.day.isoformat())


def to_run_request(request: PartitionRequest, trigger: str) -> RunRequest:
    return RunRequest(
        run_key=request.run_key,
        partition_key=MultiPartitionKey({"dataset": request.dataset, "date": request.day.isoformat()}),
        tags={TRIGGER_TAG: trigger, OBJECTS_TAG: str(len(request.versions))},
    )


@sensor(
    job=energy_series_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="One energy_series run per (dataset, day) with new or replaced processed Parquet.",
)
def energy_series_sensor(
    context: SensorEvaluationContext, energy_series_config: EnergySeriesConfig
) -> SensorResult | SkipReason:
    """New processed Parquet, found by a bounded scan: keys after each dataset folder's cursor plus one
    reconciliation page of the prefix (a replaced file, a late file named before the cursor, other folders)."""
    config = energy_series_config
    client = config.client("s3")
    cursor = PrefixScanCursor.from_json(context.cursor)
    waiting_before = _pending_objects(client, config.bucket, cursor.pending)
    folders = [f"{config.processed_prefix}dataset={name}/" for name in sorted(DATASETS)]
    scan = scan_prefix(
        client,
        config.bucket,
        config.processed_prefix,
        folders,
        cursor,
        datetime.now(UTC),
        budget=config.sensor_max_runs_per_tick,
    )
    for obj in scan.swept:
        cursor.offer(obj)
    fresh = list({obj.version: obj for obj in [*waiting_before, *scan.fast, *scan.swept]}.values())
    if not fresh:
        context.update_cursor(cursor.to_json())  # the reconciliation moved on
        return SkipReason(f"no new Parquet under s3://{config.bucket}/{config.processed_prefix}")
    requests, skipped = partition_requests(config.bucket, fresh)
    for item in skipped:
        context.log.warning(f"ignored s3://{config.bucket}/{item.key}: {item.reason}")
    too_old = [request for request in requests if request.before(PARTITIONS_START_DATE)]
    for request in too_old:
        context.log.warning(
            f"ignored {request.dataset} {request.day}: before the first partition {PARTITIONS_START_DATE}"
        )
    waiting = [r for r in requests if r not in too_old and not partition_exists(r)]
    for request in waiting:
        context.log.info(f"{request.dataset} {request.day}: partition not complete yet, waiting")
    ready = [request for request in requests if request not in waiting and request not in too_old]
    cursor.pending = frozenset(version for request in waiting for version in request.versions)
    return SensorResult(run_requests=[to_run_request(r, "sensor") for r in ready], cursor=cursor.to_json())


def _pending_objects(client: Any, bucket: str, versions: frozenset[str]) -> list[S3ObjectVersion]:
    """The current versions of keys that waited for their partition (a few: files of today); gone ones drop."""
    found = []
    for key in sorted({version.rsplit("@", 1)[0] for version in versions}):
        try:
            found.append(head_object_version(client, bucket, key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
    return found


def run_requests_for_event(event: Mapping[str, Any], config: EnergySeriesConfig) -> list[RunRequest]:
    """Run requests for an S3 event or `{bucket, key}` payload, with the run keys the sensor would use.

    Only objects of the configured series bucket are accepted: an event naming another bucket is refused
    rather than read with the pipeline's credentials.
    """
    objects: list[S3ObjectVersion] = []
    client = config.client("s3")
    for ref in parse_event(event):
        if ref.bucket != config.bucket:
            raise ValueError(f"s3://{ref.bucket}/{ref.key} is not in the series bucket {config.bucket!r}")
        objects.append(head_object_version(client, ref.bucket, ref.key))
    requests, skipped = partition_requests(config.bucket, objects)
    if skipped:
        raise ValueError("; ".join(item.reason for item in skipped))
    return [to_run_request(request, "event") for request in requests]


def main(argv: list[str]) -> None:
    """Print the partition and run key of a replayed trigger, and the command that materializes it."""
    if len(argv) != 1:
        raise SystemExit(__doc__)
    config = EnergySeriesConfig(bucket=os.environ["SERIES_BUCKET"])
    for request in run_requests_for_event(json.loads(argv[0]), config):
        print(f"partition {request.partition_key}  run key {request.run_key}")
        print(
            "  dagster asset materialize -m ecom_pipeline.definitions --select energy_series "
            f"--partition '{request.partition_key}'"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
