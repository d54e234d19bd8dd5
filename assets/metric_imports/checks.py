"""Asset checks of `imported_metrics`, evaluated inside the asset step from figures read in each file's
transaction (right after its COPY), so they describe exactly what that transaction committed.

The checks are partitioned like the asset: each file (partition) of a run gets its own result, tied to that
file's materialization, so the UI shows per file whether its rows matched, also after a range run.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import AssetCheckEvaluation, AssetCheckKey, AssetCheckSpec, AssetKey, MetadataValue

from assets.partitions import metric_import_file_partitions
from resources.metric_imports.file_writer import FileOutcome

ROW_COUNT_CHECK = "row_count_matches_file"
NO_DUPLICATES_CHECK = "no_duplicate_name_timestamp"

IMPORTED_METRICS_CHECKS = [
    AssetCheckSpec(
        ROW_COUNT_CHECK,
        asset="imported_metrics",
        description="Rows in `metrics` from the file equal the file's record count.",
        partitions_def=metric_import_file_partitions,
    ),
    AssetCheckSpec(
        NO_DUPLICATES_CHECK,
        asset="imported_metrics",
        description="No (name, timestamp) appears twice among the file's rows.",
        partitions_def=metric_import_file_partitions,
    ),
]


def check_evaluations(
    asset_key: AssetKey,
    succeeded: Sequence[FileOutcome],
    targets: Mapping[str, Any],
    selected: set[AssetCheckKey],
) -> Iterator[AssetCheckEvaluation]:
    """Each selected check's result for each imported file, on the file's partition; `targets` maps a file to
    the materialization it checks (`assets.partitions.materializations_of_run`)."""
    for outcome in succeeded:
        stats = outcome.stats
        if stats is None:
            continue
        if AssetCheckKey(asset_key, ROW_COUNT_CHECK) in selected:
            yield AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=ROW_COUNT_CHECK,
                passed=stats.row_count == outcome.records_in_file,
                metadata={"rows_in_table": stats.row_count, "records_in_file": outcome.records_in_file},
                target_materialization_data=targets.get(outcome.key),
                partition=outcome.key,
            )
        if AssetCheckKey(asset_key, NO_DUPLICATES_CHECK) in selected:
            yield AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=NO_DUPLICATES_CHECK,
                passed=not stats.duplicate_groups,
                metadata={
                    "duplicate_groups": stats.duplicate_groups,
                    "examples": MetadataValue.md(
                        "\n".join(
                            f"- {name} @ {ts.isoformat()}: {n} rows"
                            for name, ts, n in stats.duplicate_examples
                        )
                        or "none"
                    ),
                },
                target_materialization_data=targets.get(outcome.key),
                partition=outcome.key,
            )
