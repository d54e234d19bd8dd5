"""Asset checks of `imported_metrics`, evaluated inside the asset step from figures read in each file's
transaction (right after its COPY), so they describe exactly what that transaction committed."""

from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSpec, MetadataValue

from resources.metric_imports.file_writer import FileOutcome

ROW_COUNT_CHECK = "row_count_matches_file"
NO_DUPLICATES_CHECK = "no_duplicate_name_timestamp"
LISTED_FILES = 20  # files named in a check's or a failure's metadata

IMPORTED_METRICS_CHECKS = [
    AssetCheckSpec(
        ROW_COUNT_CHECK,
        asset="imported_metrics",
        description="Rows in `metrics` from each file of the run equal the file's record count.",
    ),
    AssetCheckSpec(
        NO_DUPLICATES_CHECK,
        asset="imported_metrics",
        description="No (name, timestamp) appears twice among one file's rows.",
    ),
]


def check_results(succeeded: Sequence[FileOutcome]) -> list[AssetCheckResult]:
    """One result per check for the run's imported files; the metadata names every file that fails."""
    stats = {o.key: o.stats for o in succeeded if o.stats is not None}
    mismatched = [o for o in succeeded if stats[o.key].row_count != o.records_in_file]
    duplicated = [o for o in succeeded if stats[o.key].duplicate_groups]
    rows_in_table = sum(stats[o.key].row_count for o in succeeded)
    records = sum(o.records_in_file for o in succeeded)
    count_lines = [
        f"- {o.key}: {stats[o.key].row_count} rows in the table, {o.records_in_file} records in the file"
        for o in mismatched[:LISTED_FILES]
    ]
    duplicate_lines = [
        f"- {o.key}: {name} @ {ts.isoformat()}: {n} rows"
        for o in duplicated[:LISTED_FILES]
        for name, ts, n in stats[o.key].duplicate_examples
    ]
    files = {"file": succeeded[0].key} if len(succeeded) == 1 else {"files_checked": len(succeeded)}
    return [
        AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=not mismatched,
            metadata=files
            | {
                "rows_in_table": rows_in_table,
                "records_in_file": records,
                "files_mismatched": len(mismatched),
                "mismatches": MetadataValue.md("\n".join(count_lines) or "none"),
            },
        ),
        AssetCheckResult(
            check_name=NO_DUPLICATES_CHECK,
            passed=not duplicated,
            metadata=files
            | {
                "duplicate_groups": sum(stats[o.key].duplicate_groups for o in duplicated),
                "files_with_duplicates": len(duplicated),
                "examples": MetadataValue.md("\n".join(duplicate_lines) or "none"),
            },
        ),
    ]
