"""A run's import counts to CloudWatch (namespace and `Environment` dimension from `MetricImportsConfig`)."""

from dagster import DagsterLogManager

from resources.aws import CloudWatchMetricsResource, Metric
from resources.metric_imports.config import MetricImportsConfig


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
