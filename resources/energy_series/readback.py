"""Reading written points back from the time-series server, for the `energy_series` checks."""

import json
from datetime import UTC, datetime

import requests
from dagster import ConfigurableResource
from pydantic import Field

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.readback import StoredPoints, field_metric_name, summarize_export
from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError


def _rfc3339_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SeriesReadbackResource(ConfigurableResource):
    """Reads written points back for the asset checks.

    Locally: VictoriaMetrics' `/api/v1/export` (the InfluxDB bucket is its `db` label). In production the
    same check would query InfluxDB with Flux; this resource has no Flux path yet, and without a URL the
    check reports that it could not read back rather than passing.
    """

    victoria_metrics_url: str | None = Field(default=None, description="VictoriaMetrics base URL (local).")
    timeout_seconds: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.victoria_metrics_url)

    def stored_points(
        self, spec: DatasetSpec, bucket: str, start_ms: int, end_ms: int, *, keep_values: bool = False
    ) -> StoredPoints:
        """Points of `spec.measurement` in `bucket` with start_ms <= timestamp < end_ms."""
        if not self.victoria_metrics_url:
            raise ConfigurationError("no read-back endpoint configured (VICTORIA_METRICS_URL)")
        base = self.victoria_metrics_url.rstrip("/")
        names = "|".join(field_metric_name(spec.measurement, field) for field in spec.fields)
        quoted_bucket = bucket.replace("\\", "\\\\").replace('"', '\\"')
        selector = f'{{__name__=~"{names}",db="{quoted_bucket}"}}'
        try:
            requests.get(f"{base}/internal/force_flush", timeout=self.timeout_seconds).raise_for_status()
            response = requests.get(
                f"{base}/api/v1/export",
                params={"match[]": selector, "start": _rfc3339_ms(start_ms), "end": _rfc3339_ms(end_ms - 1)},
                timeout=self.timeout_seconds,
                stream=True,
            )
            response.raise_for_status()
            lines = response.iter_lines(chunk_size=1 << 20)  # small chunks make long lines quadratic
            records = (json.loads(line) for line in lines if line.strip())
            return summarize_export(records, spec.measurement, spec.fields, keep_values=keep_values)
        except requests.RequestException as exc:
            raise ServiceUnavailableError(f"read-back from {base} failed: {type(exc).__name__}") from None
