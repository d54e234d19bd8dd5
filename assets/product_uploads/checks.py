"""Asset checks of the uploads pipeline, evaluated inside the asset step from fresh reads of the stores.

They run in the materializing step (not as separate `@asset_check` ops) because they need the partition's
upload id and the counts the step just produced, and a separate op would be a second Lambda invocation. They
are partitioned like the assets, so each result is recorded on its upload's partition (one run = one upload).
"""

from collections.abc import Mapping

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from assets.partitions import product_upload_partitions
from ecom_pipeline.product_uploads.validation import STATUS_ERROR, STATUS_PENDING, STATUS_VALID
from resources.product_uploads.products_table import SkuDuplicates

RECORDS_CHECKS = [
    AssetCheckSpec(
        "all_rows_staged",
        asset="product_upload_records",
        partitions_def=product_upload_partitions,
        description="UploadRecords holds exactly one item per CSV data row of the upload.",
    )
]
VALIDATION_CHECKS = [
    AssetCheckSpec(
        "every_row_accounted_for",
        asset="validated_products",
        partitions_def=product_upload_partitions,
        description="valid + rejected == total rows, and no staged item is left pending_validation.",
    ),
    AssetCheckSpec(
        "no_duplicate_sku_per_vendor",
        asset="validated_products",
        partitions_def=product_upload_partitions,
        description="No SKU appears on two products of the upload's vendor.",
    ),
    AssetCheckSpec(
        "error_rate_below_threshold",
        asset="validated_products",
        partitions_def=product_upload_partitions,
        description="Share of rejected rows of the upload; above the configured threshold it warns.",
    ),
]


def rows_staged_check(items_in_table: int, total_rows: int) -> AssetCheckResult:
    return AssetCheckResult(
        check_name="all_rows_staged",
        passed=items_in_table == total_rows,
        metadata={"items_in_table": items_in_table, "csv_rows": total_rows},
    )


def rows_accounted_check(
    total: int, statuses: Mapping[str, int], valid: int, rejected: int
) -> AssetCheckResult:
    pending = statuses.get(STATUS_PENDING, 0)
    in_table = sum(statuses.values())
    passed = valid + rejected == total and in_table == total and pending == 0
    passed = passed and statuses.get(STATUS_VALID, 0) == valid and statuses.get(STATUS_ERROR, 0) == rejected
    return AssetCheckResult(
        check_name="every_row_accounted_for",
        passed=passed,
        metadata={
            "total_rows": total,
            "valid": valid,
            "rejected": rejected,
            "items_validated": statuses.get(STATUS_VALID, 0),
            "items_error": statuses.get(STATUS_ERROR, 0),
            "items_pending": pending,
        },
    )


def no_duplicate_sku_check(vendor_id: str, duplicates: SkuDuplicates) -> AssetCheckResult:
    return AssetCheckResult(
        check_name="no_duplicate_sku_per_vendor",
        passed=not duplicates.exact,
        metadata={
            "vendor_id": vendor_id,
            "duplicate_skus": len(duplicates.exact),
            "examples": MetadataValue.json([{"sku": s, "products": n} for s, n in duplicates.exact]),
            "skus_differing_only_in_case": len(duplicates.case_only),
        },
    )


def error_rate_check(rate: float, threshold: float, rejected: int, total: int) -> AssetCheckResult:
    return AssetCheckResult(
        check_name="error_rate_below_threshold",
        passed=rate <= threshold,
        severity=AssetCheckSeverity.WARN,
        metadata={"error_rate": round(rate, 4), "threshold": threshold, "rejected": rejected, "total": total},
    )
