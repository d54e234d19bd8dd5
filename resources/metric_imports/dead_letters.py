"""The S3/SQS/SNS side of a metric file that is not imported: the quarantine copy, the DLQ message and the
notification. What gets quarantined, where to and with which message: `ecom_pipeline/metric_imports/quarantine.py`."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecom_pipeline.metric_imports.quarantine import dead_letter_message, quarantine_key, quarantine_metadata
from ecom_pipeline.metric_imports.rejections import Rejection
from ecom_pipeline.metric_imports.selection import FileVersion
from resources.aws import SnsResource, SqsResource
from resources.metric_imports.config import MetricImportsConfig


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
            Metadata=quarantine_metadata(file, rejection),
        )
        self.s3_client.put_object(
            Bucket=file.bucket,
            Key=f"{target}.rejection.json",
            Body=json.dumps(
                self._message(file, rejection.reason_code, rejection.message, rejection.as_dict())
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
        alert: bool = True,
    ) -> int:
        """One DLQ message and (with `alert`) one SNS notification; `best_effort` when already failing for
        another reason."""
        body = self._message(file, reason_code, message, details)
        try:
            sent = self.sqs.send_messages(self.config.dlq_url, [body])
            if alert:
                self.sns.publish(
                    self.config.notifications_topic_arn, f"Metric import {reason_code}: {file.key}", body
                )
        except Exception:
            if not best_effort:
                raise
            return 0
        return sent

    def _message(self, file: FileVersion, reason_code: str, message: str, details: dict) -> dict[str, Any]:
        return dead_letter_message(
            file, reason_code, message, details, self.config.quarantine_prefix, self.run_id, datetime.now(UTC)
        )
