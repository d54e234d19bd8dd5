"""The four checks every bronze asset carries, evaluated in the asset's own step.

Row and null counts are read back from the Parquet footers in S3; key uniqueness uses the written keys, spilled
to disk in bounded memory (ecom_pipeline/bronze/unique_keys.py).

Running them in the materializing step (`check_specs`) instead of as separate `@asset_check` ops keeps a
partition to one step, which matters when each step is a Lambda invocation.
"""

from datetime import date

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from assets.partitions import bronze_daily_partitions
from ecom_pipeline.bronze.enrich import INGESTION_ID, RECORD_HASH
from ecom_pipeline.bronze.entities import EntitySpec
from ecom_pipeline.bronze.ingest import IngestionResult
from ecom_pipeline.bronze.manifest import PartitionManifest
from ecom_pipeline.bronze.quality import null_count, rows_in_files
from ecom_pipeline.bronze.schema_drift import compare_schemas
from ecom_pipeline.bronze.unique_keys import confirm_duplicates
from resources.bronze.lake import S3LakeStore

ROW_COUNT_CHECK = "row_count_matches_extracted"
NOT_NULL_CHECK = "metadata_columns_not_null"
PRIMARY_KEY_CHECK = "primary_key_unique"
SCHEMA_CHECK = "schema_matches_previous_partition"


def bronze_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    """The specs declared on the asset, so the UI lists the checks before the first run. Each is partitioned
    like the asset, so a result is recorded for the partition its step materialized (one partition per run:
    the assets read `context.partition_key`, so a backfill runs each day on its own) and the UI shows a
    check's status per day instead of only the latest run's."""
    specs = [
        (ROW_COUNT_CHECK, "Rows in the Parquet files = rows extracted - rows other partitions already hold."),
        (NOT_NULL_CHECK, "No null _record_hash or _ingestion_id."),
        (PRIMARY_KEY_CHECK, "Primary key unique within the partition."),
        (SCHEMA_CHECK, "Same columns and types as the previous partition (WARN)."),
    ]
    return [
        AssetCheckSpec(name, asset=asset_key, description=text, partitions_def=bronze_daily_partitions)
        for name, text in specs
    ]


def evaluate_bronze_checks(
    asset_key: AssetKey, entity: EntitySpec, result: IngestionResult, store: S3LakeStore, root: str
) -> list[AssetCheckResult]:
    """One result per spec, measured on what landed in S3 (and the extracted keys)."""
    manifest = result.manifest
    files = store.open_parquet([f["key"] for f in manifest.files])
    rows_in_s3 = rows_in_files(files)
    results = [
        AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            asset_key=asset_key,
            passed=rows_in_s3 == manifest.rows_extracted - manifest.rows_already_held,
            metadata={
                "rows_extracted": manifest.rows_extracted,
                "rows_already_held": manifest.rows_already_held,
                "rows_in_parquet": rows_in_s3,
                "files": len(files),
            },
        )
    ]
    nulls = {column: null_count(files, column) for column in (RECORD_HASH, INGESTION_ID)}
    results.append(
        AssetCheckResult(
            check_name=NOT_NULL_CHECK,
            asset_key=asset_key,
            passed=not any(nulls.values()),
            metadata={f"null_{column.lstrip('_')}": count for column, count in nulls.items()},
        )
    )
    # Keys as written, spilled to disk while writing; hashed keys that repeat are confirmed on the files.
    try:
        duplicates = result.unique_keys.duplicates()
        if duplicates is None:
            hashes = result.unique_keys.candidate_hashes()
            duplicates = confirm_duplicates(files, entity.primary_key, hashes)
    finally:
        result.unique_keys.close()
    results.append(
        AssetCheckResult(
            check_name=PRIMARY_KEY_CHECK,
            asset_key=asset_key,
            passed=duplicates.duplicated_keys == 0,
            metadata={
                "primary_key": ", ".join(entity.primary_key),
                "duplicated_keys": duplicates.duplicated_keys,
                "examples": MetadataValue.json(duplicates.examples),
            },
        )
    )
    results.append(_schema_result(asset_key, entity, manifest, store, root))
    return results


def _schema_result(
    asset_key: AssetKey, entity: EntitySpec, manifest: PartitionManifest, store: S3LakeStore, root: str
) -> AssetCheckResult:
    previous = store.previous_manifest(
        root, entity.name, date.fromisoformat(manifest.partition_date), manifest.load_type
    )
    if previous is None or not manifest.schema:
        reason = "no earlier partition to compare with" if previous is None else "no rows, so no schema"
        return AssetCheckResult(
            check_name=SCHEMA_CHECK, asset_key=asset_key, passed=True, metadata={"compared_with": reason}
        )
    drift = compare_schemas(previous.schema, manifest.schema)
    # The manifests' column -> Arrow type maps, shown as the UI's schema tables (the same types the
    # materialization's dagster/column_schema lists), so the two partitions' schemas can be read side by side.
    return AssetCheckResult(
        check_name=SCHEMA_CHECK,
        asset_key=asset_key,
        passed=not drift.drifted,
        severity=AssetCheckSeverity.WARN,
        description=drift.describe(),
        metadata={
            "compared_with": f"{previous.partition_date} ({previous.load_type})",
            "columns_added": MetadataValue.json(drift.added),
            "columns_removed": MetadataValue.json(drift.removed),
            "columns_retyped": MetadataValue.json({k: list(v) for k, v in drift.retyped.items()}),
            "previous_schema": MetadataValue.table_schema(_table_schema(previous.schema)),
            "current_schema": MetadataValue.table_schema(_table_schema(manifest.schema)),
        },
    )


def _table_schema(signature: dict[str, str]) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, arrow_type) for name, arrow_type in signature.items()])
