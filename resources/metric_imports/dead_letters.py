"""Where a metric file goes when it cannot be imported: quarantine copy, DLQ message, SNS notification,
and the CloudWatch counts of imports, rejections and failures."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import DagsterLogManager

from ecom_pipeline.metric_imports.rejections import Rejection
from ecom_pipeline.metric_imports.selection import quarantine_key
from resources.aws import CloudWatchMetricsResource, Metric, SnsResource, SqsResource
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import FileVersion

_S3_METADATA_LIMIT = 1024  # user metadata is limited to 2 KB per object in total


@dataclass
class DeadLetters:
    s3_client: Any
    sqs: SqsResource
    sns: SnsResource
    config: MetricImportsConfig
    run_id: str

    def quarantine(self, file: FileVersion, rejection: Rejection) -> str:
        """Copy (not move) the file under the quarantine prefix with the reason beside it; the original
        stays so the partition can be re-run, and the ledger's `rejected` keeps the sweep off it."""
        target = quarantine_key(file.key, self.config.quarantine_prefix)
        self.s3_client.copy_object(
            Bucket=file.bucket,
            Key=target,
            CopySource={"Bucket": file.bucket, "Key": file.key},
            MetadataDirective="REPLACE",
            Metadata={
                "source-key": file.key[:_S3_METADATA_LIMIT],
                "source-etag": file.etag,
                "reason-code": rejection.reason_code,
                "record-index": "" if rejection.record_index is None else str(rejection.record_index),
            },
        )
        self.s3_client.put_object(
            Bucket=file.bucket,
            Key=f"{target}.rejection.json",
            Body=json.dumps(
                self._envelope(file, rejection.reason_code, rejection.message, rejection.as_dict())
            ).encode(),
            ContentType="application/json",
        )
        return target

    def send(
        self,
        file: FileVersion,
        reason_code: str,
        message: str,
        details: dict[str, Any],
        best_effort: bool = False,
    ) -> int:
        """One DLQ message and one SNS notification; `best_effort` when already failing for another reason."""
        body = self._envelope(file, reason_code, message, details)
        try:
            sent = self.sqs.send_messages(self.config.dlq_url, [body])
            self.sns.publish(
                self.config.notifications_topic_arn, f"Metric import {reason_code}: {file.key}", body
            )
        except Exception:
            if not best_effort:
                raise
            return 0
        return sent

    def _envelope(self, file: FileVersion, reason_code: str, message: str, details: dict) -> dict[str, Any]:
        return {
            "pipeline": "metric_imports",
            "bucket": file.bucket,
            "key": file.key,
            "etag": file.etag,
            "size_bytes": file.size_bytes,
            "reason_code": reason_code,
            "message": message,
            "record_index": details.get("record_index"),
            "details": details,
            "quarantine_key": quarantine_key(file.key, self.config.quarantine_prefix)
            if reason_code != "database_error"
            else None,
            "run_id": self.run_id,
            "at": datetime.now(UTC).isoformat(),
        }


def publish_counts(
    log: DagsterLogManager,
    cloudwatch: CloudWatchMetricsResource,
    config: MetricImportsConfig,
    imported: int = 0,
    rejected: int = 0,
    failed: int = 0,
    rows: int = 0,
    duration_seconds: float | None = None,
) -> bool:
    """Import counts to CloudWatch. Runs after the data is committed, so a metrics outage only warns."""
    dimensions = {"Environment": config.environment}
    metrics = [
        Metric("FilesImported", imported, dimensions=dimensions),
        Metric("FilesRejected", rejected, dimensions=dimensions),
        Metric("FilesFailed", failed, dimensions=dimensions),
        Metric("RowsImported", rows, dimensions=dimensions),
    ]
    if duration_seconds is not None:
        metrics.append(Metric("ImportDuration", duration_seconds, unit="Seconds", dimensions=dimensions))
    try:
        cloudwatch.put_metrics(config.cloudwatch_namespace, metrics)
    except Exception as exc:
        log.warning(f"CloudWatch metrics not published: {type(exc).__name__}")
        return False
    return True
