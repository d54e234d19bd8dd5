"""A run's metric files by key, as log lines and as a metadata table.

A run covers up to 100 file partitions; each committed file has its own materialization, but the files that
were rejected, missing, failed or never attempted have none, so the table of every file of the run (on the
run's observation of `imported_metrics`, and on its `Failure`) is where a range run is read file by file.
"""

from collections.abc import Sequence

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from resources.metric_imports.file_writer import FileOutcome

NOT_ATTEMPTED = "not_attempted"  # after a database failure no further file of the run is started

RUN_FILES_SCHEMA = TableSchema(
    columns=[
        TableColumn("file", "string", description="S3 key = partition key"),
        TableColumn(
            "status",
            "string",
            description="imported, already_imported, rejected, failed, missing or not_attempted",
        ),
        TableColumn("rows", "int", description="rows this run wrote to the metrics table"),
        TableColumn("records", "int", description="records in the file (0 when it was not read)"),
        TableColumn("reason", "string", description="why the file was not imported"),
    ]
)


def describe_outcome(outcome: FileOutcome) -> str:
    """One log line per file: its key, what happened and how many rows."""
    line = f"{outcome.key}: {outcome.status}, {outcome.rows_imported:,} rows"
    return f"{line} ({outcome.records_in_file:,} records)" if outcome.records_in_file else line


def run_files_table(keys: Sequence[str], outcomes: Sequence[FileOutcome]) -> MetadataValue:
    """Every file of the run in partition order; files the run never reached are `not_attempted`."""
    by_key = {o.key: o for o in outcomes}
    records = []
    for key in keys:
        outcome = by_key.get(key)
        records.append(
            TableRecord(
                {
                    "file": key,
                    "status": outcome.status if outcome else NOT_ATTEMPTED,
                    "rows": outcome.rows_imported if outcome else 0,
                    "records": outcome.records_in_file if outcome else 0,
                    "reason": outcome.message if outcome else "",
                }
            )
        )
    return MetadataValue.table(records, schema=RUN_FILES_SCHEMA)


def run_files_metadata(keys: Sequence[str], outcomes: Sequence[FileOutcome]) -> dict:
    return {
        "files_in_run": len(keys),
        "rows_imported": sum(o.rows_imported for o in outcomes),
        "files": run_files_table(keys, outcomes),
    }
