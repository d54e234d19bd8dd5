"""Bronze assets: one daily-partitioned asset per entity of `BRONZE_ENTITIES`.

Each entity is its own asset, hence its own step: entities of one run extract in parallel, and one entity
failing (source down, bad row) fails only its step while the others land and the run carries on.
Materializing partition D extracts the window that `plan_window` (ecom_pipeline/bronze/windows.py) decides
from the config, run tag, checkpoint and earlier manifest into
`data/bronze/{entity}/ingestion_date=D/load_type=.../`.

Lineage: `products` is written by the uploads pipeline (`validated_products`) and `metrics` by the metric
imports (`imported_metrics`). Those assets are partitioned per upload / per file (dynamic partitions) while
bronze is daily. The dependency uses `LastPartitionMapping`: a bronze partition reads the table as the most
recent write left it, which is what "depends on the latest upload" says, and it maps every bronze partition
to one upstream partition. The default for mismatched partitionings would fan each daily partition in to
every upload partition (thousands x hundreds of edges), which makes staleness and the partition views slow.
"""

import os
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    FreshnessPolicy,
    LastPartitionMapping,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
)
from pydantic import Field

from assets.bronze.checks import bronze_check_specs, evaluate_bronze_checks
from assets.partitions import bronze_daily_partitions
from assets.pools import SOURCE_API_POOL, SOURCE_DB_POOL
from ecom_pipeline.bronze.enrich import IngestionStamp
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES, EntitySpec
from ecom_pipeline.bronze.ingest import Extraction, IngestionResult, ingest_partition
from ecom_pipeline.bronze.layout import manifest_key, partition_prefix
from ecom_pipeline.bronze.windows import LOAD_TYPE_TAG, ExtractionWindow, LoadType, plan_window
from ecom_pipeline.constants import (
    BRONZE_FRESH_BY_HOUR_ENV,
    BRONZE_GROUP,
    DEFAULT_BRONZE_FRESH_BY_HOUR,
    LAMBDA_SIZE_TAG,
    hour_setting,
)
from resources.bronze.checkpoints import CheckpointStoreResource
from resources.bronze.lake import BronzeLakeResource
from resources.bronze.source_api import SourceApiResource
from resources.bronze.sources import api_extraction, rds_extraction
from resources.partition_lock import lock_name, locked_partition
from resources.rds import RdsPostgresResource

_PREVIEW_ROWS = 5
_LISTED_PATHS = 20


class BronzeLoadConfig(Config):
    load_type: str | None = Field(
        default=None,
        description=f"'full' or 'incremental'. Unset: the run tag `{LOAD_TYPE_TAG}`, else incremental.",
    )


def bronze_freshness_policy(environ: Mapping[str, str]) -> FreshnessPolicy:
    """Fresh when materialized between midnight UTC and the deadline hour (`ECOM_BRONZE_FRESH_BY_HOUR_UTC`,
    default 6): the daily schedule runs at 00:30 for the day that just ended, so an asset with no run since
    midnight by then is late. Dagster judges an asset by its latest materialization of any partition."""
    hour = hour_setting(environ, BRONZE_FRESH_BY_HOUR_ENV, DEFAULT_BRONZE_FRESH_BY_HOUR)
    return FreshnessPolicy.cron(deadline_cron=f"0 {hour} * * *", lower_bound_delta=timedelta(hours=hour))


# Read when the code location loads, like every deployment setting.
BRONZE_FRESHNESS_POLICY = bronze_freshness_policy(os.environ)


def _lineage(entity: EntitySpec) -> list[AssetDep]:
    return [AssetDep(AssetKey([key]), partition_mapping=LastPartitionMapping()) for key in entity.written_by]


def _markdown_table(result: IngestionResult) -> str:
    preview = result.preview
    if preview is None or preview.num_rows == 0:
        return "_no rows_"
    rows = preview.slice(0, _PREVIEW_ROWS).to_pylist()

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return (text[:40] + "…" if len(text) > 40 else text).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(preview.column_names) + " |"
    rule = "|" + "---|" * preview.num_columns
    body = ["| " + " | ".join(cell(row[name]) for name in preview.column_names) + " |" for row in rows]
    return "\n".join([header, rule, *body])


def column_schema(schema: pa.Schema) -> TableSchema:
    """The UI's column table of what was written: Arrow type text and nullability per Parquet column."""
    return TableSchema(
        columns=[
            TableColumn(f.name, str(f.type), constraints=TableColumnConstraints(nullable=f.nullable))
            for f in schema
        ]
    )


def _metadata(
    result: IngestionResult,
    window: ExtractionWindow,
    lake: BronzeLakeResource,
    checkpoint_after: datetime | None,
) -> dict:
    manifest = result.manifest
    keys = [f["key"] for f in manifest.files]
    listed = "\n".join(
        f"- [`s3://{lake.bucket}/{key}`]({lake.browse_url(key)})" for key in keys[:_LISTED_PATHS]
    )
    if len(keys) > _LISTED_PATHS:
        listed += f"\n- … {len(keys) - _LISTED_PATHS} more"
    # Dagster's standard table keys (what TableMetadataSet writes, which 1.13 exports only privately): the
    # rows this partition's files hold, and their columns.
    standard: dict = {
        "dagster/row_count": MetadataValue.int(manifest.rows_written),
        "dagster/partition_row_count": MetadataValue.int(manifest.rows_written),
    }
    if result.written_schema is not None:
        standard["dagster/column_schema"] = MetadataValue.table_schema(column_schema(result.written_schema))
    return {
        **standard,
        "rows": manifest.rows_written,
        "rows_extracted": manifest.rows_extracted,
        "bytes": sum(f["bytes"] for f in manifest.files),
        "files": len(manifest.files),
        "event_dates": len({f["event_date"] for f in manifest.files}),
        "partition_path": MetadataValue.url(lake.browse_url(result.partition_prefix)),
        "manifest": MetadataValue.url(lake.browse_url(manifest_key(result.partition_prefix))),
        "s3_paths": MetadataValue.md(listed or "_no files_"),
        "load_type": window.load_type.value,
        "first_run": window.first_run,
        "window_start": manifest.window_start or "unbounded (full load)",
        "window_end": manifest.window_end,
        "read_start": manifest.read_start or "unbounded (full load)",
        "rows_already_held": manifest.rows_already_held,
        "caught_up_days": window.caught_up_days,
        "checkpoint_before": manifest.checkpoint_before or "none (first run)",
        "checkpoint_after": checkpoint_after.isoformat() if checkpoint_after else "none",
        "checkpoint_advanced": result.checkpoint_advanced,
        "replaced_objects": len(result.deleted_keys),
        "rejected_records": len(result.rejected),
        "rejections": MetadataValue.md("\n".join(f"- {r}" for r in result.rejected[:20]) or "_none_"),
        "outside_window": result.outside_window,
        "ingestion_id": manifest.ingestion_id,
        "duration_seconds": round(result.seconds, 3),
        "preview": MetadataValue.md(_markdown_table(result)),
    }


def _materialize(
    context: AssetExecutionContext,
    config: BronzeLoadConfig,
    entity: EntitySpec,
    lake: BronzeLakeResource,
    checkpoints: CheckpointStoreResource,
    extract: Callable[[ExtractionWindow], Extraction],
    source: str,
) -> MaterializeResult:
    now = datetime.now(UTC)
    partition_date = date.fromisoformat(context.partition_key)
    layout = lake.layout()
    store = lake.store()
    stored = checkpoints.get(entity.checkpoint_key)
    # A re-run starts no later than the partition's earlier incremental run (plan_window decides).
    previous = store.read_manifest(
        partition_prefix(layout.root_prefix, entity.name, partition_date, LoadType.INCREMENTAL.value)
    )
    window = plan_window(
        partition_date,
        now,
        config_load_type=config.load_type,
        tag_load_type=context.run.tags.get(LOAD_TYPE_TAG),
        checkpoint=stored.last_sync_timestamp if stored else None,
        previous_incremental_start=previous.window_start_at if previous else None,
        overlap=lake.late_row_overlap,
        previous_read_start=previous.read_start_at if previous else None,
    )
    context.log.info(
        f"{entity.name}: {window.load_type.value} window "
        f"[{window.start.isoformat() if window.start else '-inf'}, {window.end.isoformat()}) "
        f"from {source}; checkpoint {stored.last_sync_timestamp.isoformat() if stored else 'none (first run)'}"
    )
    # Late-committed rows: what other partitions hold of the re-read overlap is dropped (windows.py).
    held = None
    if window.load_type is LoadType.INCREMENTAL:
        held = store.held_rows(layout.root_prefix, entity, window, lake.late_row_overlap)
    extraction = extract(window)
    result = ingest_partition(
        entity,
        window,
        extraction,
        store,
        checkpoints,
        layout,
        IngestionStamp(ingestion_id=context.run.run_id, ingestion_ts=now, source_system=entity.source),
        context.log.info,
        run_id=context.run.run_id,
        held=held,
    )
    for reason in result.rejected[:20]:
        context.log.warning(f"{entity.name}: rejected {reason}")
    after = checkpoints.get(entity.checkpoint_key)
    metadata = _metadata(result, window, lake, after.last_sync_timestamp if after else None)
    metadata["source"] = source
    metadata["query"] = MetadataValue.md(f"```sql\n{extraction.description}\n```")
    return MaterializeResult(
        metadata=metadata,
        check_results=evaluate_bronze_checks(context.asset_key, entity, result, store, layout.root_prefix),
    )


def build_bronze_asset(entity: EntitySpec) -> AssetsDefinition:
    """The asset of one entity; tests build assets for their own isolated entity specs with it."""
    key = AssetKey([entity.asset_name])
    common = dict(
        key=key,
        group_name=BRONZE_GROUP,
        partitions_def=bronze_daily_partitions,
        deps=_lineage(entity),
        check_specs=bronze_check_specs(key),
        freshness_policy=BRONZE_FRESHNESS_POLICY,
        op_tags={LAMBDA_SIZE_TAG: "large"},
        metadata={"entity": entity.name, "primary_key": ", ".join(entity.primary_key)},
    )
    if entity.source == "rds":

        @asset(
            **common,
            pool=SOURCE_DB_POOL,
            kinds={"postgres", "s3", "parquet"},
            description=f"Changes of {entity.schema}.{entity.source_table} by {entity.cursor_column}, per day.",
        )
        @locked_partition(lambda context: lock_name("bronze", entity.name, context.partition_key))
        def _rds_asset(
            context: AssetExecutionContext,
            config: BronzeLoadConfig,
            bronze_lake: BronzeLakeResource,
            bronze_checkpoints: CheckpointStoreResource,
            rds: RdsPostgresResource,
        ) -> MaterializeResult:
            return _materialize(
                context,
                config,
                entity,
                bronze_lake,
                bronze_checkpoints,
                lambda window: rds_extraction(rds.connect, entity, window),
                f"rds {rds.dsn_description()} {entity.schema}.{entity.source_table}",
            )

        return _rds_asset

    @asset(
        **common,
        pool=SOURCE_API_POOL,
        kinds={"api", "s3", "parquet"},
        description=f"Changes from the {entity.endpoint} API by {entity.cursor_column}, per day.",
    )
    @locked_partition(lambda context: lock_name("bronze", entity.name, context.partition_key))
    def _api_asset(
        context: AssetExecutionContext,
        config: BronzeLoadConfig,
        bronze_lake: BronzeLakeResource,
        bronze_checkpoints: CheckpointStoreResource,
        bronze_source_api: SourceApiResource,
        rds: RdsPostgresResource,  # the partition lock
    ) -> MaterializeResult:
        return _materialize(
            context,
            config,
            entity,
            bronze_lake,
            bronze_checkpoints,
            lambda window: api_extraction(bronze_source_api, entity, window),
            f"api {entity.endpoint}",
        )

    return _api_asset


bronze_assets: list[AssetsDefinition] = [build_bronze_asset(entity) for entity in BRONZE_ENTITIES]
