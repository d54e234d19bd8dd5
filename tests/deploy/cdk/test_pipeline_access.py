"""The IAM scoping in deploy/cdk repeats a few facts the pipeline code owns; keep them in step."""

from __future__ import annotations

import fnmatch

from deploy.cdk.settings import IMPORT_QUARANTINE_PATTERN, METRIC_NAMESPACES, UPLOAD_ERROR_REPORTS_PATTERN
from ecom_pipeline.metric_imports.quarantine import quarantine_key
from ecom_pipeline.product_uploads.object_keys import error_report_key, parse_upload_key
from resources.energy_series.config import EnergySeriesConfig
from resources.metric_imports.config import MetricImportsConfig
from resources.product_uploads.config import ProductUploadsConfig


def _default(config_class: type, field: str) -> str:
    return config_class.model_fields[field].default


def test_put_metric_data_condition_names_every_pipeline_namespace() -> None:
    used = {
        _default(ProductUploadsConfig, "metrics_namespace"),
        _default(EnergySeriesConfig, "metrics_namespace"),
        _default(MetricImportsConfig, "cloudwatch_namespace"),
    }
    assert used == set(METRIC_NAMESPACES)


def test_error_reports_are_written_where_the_uploads_role_may_write() -> None:
    upload = parse_upload_key("uploads/VEND001/VEND001_20241221_103045.csv")
    assert upload is not None
    key = error_report_key(upload, "UPLOAD_20241221_103045")
    assert fnmatch.fnmatchcase(key, UPLOAD_ERROR_REPORTS_PATTERN), key
    # ... and the pattern does not cover the uploads themselves.
    assert not fnmatch.fnmatchcase(
        "uploads/VEND001/VEND001_20241221_103045.csv", UPLOAD_ERROR_REPORTS_PATTERN
    )


def test_quarantined_imports_land_under_the_writable_prefix() -> None:
    prefix = _default(MetricImportsConfig, "quarantine_prefix")
    key = quarantine_key("imports/2026/01/02/metrics.json", prefix)
    assert fnmatch.fnmatchcase(key, IMPORT_QUARANTINE_PATTERN), key
    assert fnmatch.fnmatchcase(f"{key}.rejection.json", IMPORT_QUARANTINE_PATTERN)
    assert not fnmatch.fnmatchcase("imports/2026/01/02/metrics.json", IMPORT_QUARANTINE_PATTERN)


def test_the_executor_invokes_the_functions_the_stack_creates() -> None:
    from deploy.cdk.settings import ExternalEndpoints, settings_for
    from ecom_pipeline.constants import LAMBDA_STEP_SIZES
    from ecom_pipeline.lambda_executor.sizing import step_function_name
    from tests.deploy.cdk.test_image_and_settings import ACCESS

    settings = settings_for(
        "prod", "prod", ExternalEndpoints("https://i", "https://a/p", "https://a/s"), ACCESS
    )
    for size in LAMBDA_STEP_SIZES:
        # The executor derives the name from ECOM_ENV, which the stacks set to the suffix.
        assert settings.step_function_name(size) == step_function_name(settings.suffix, size)
