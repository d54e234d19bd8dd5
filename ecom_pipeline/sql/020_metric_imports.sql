-- Import ledger of the metric JSON imports (seed 000): one row per S3 key, the version (ETag) last attempted.
-- The importer writes the `imported` row in the same transaction as the file's rows in `metrics`, so a
-- committed ledger row proves the rows are there and a re-run of the same (key, ETag) can skip safely.
-- Unqualified names so tests can apply this file to an isolated schema with search_path. Idempotent.

CREATE TABLE IF NOT EXISTS metric_import_files (
    file_key         text PRIMARY KEY,
    bucket           text NOT NULL,
    etag             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('imported', 'rejected', 'failed')),
    size_bytes       bigint CHECK (size_bytes >= 0),
    records_in_file  integer CHECK (records_in_file >= 0),
    rows_imported    integer NOT NULL DEFAULT 0 CHECK (rows_imported >= 0),
    reason_code      text,
    error            text,
    record_index     integer,
    quarantine_key   text,
    attempts         integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    run_id           text,
    first_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz NOT NULL DEFAULT now(),
    imported_at      timestamptz,
    CHECK (status <> 'imported' OR (imported_at IS NOT NULL AND rows_imported = records_in_file)),
    CHECK (status = 'imported' OR error IS NOT NULL)
);

-- The schedule's sweep looks up failed imports.
CREATE INDEX IF NOT EXISTS idx_metric_import_files_status ON metric_import_files (status);

-- Retention of file partitions (docs/metric_imports.md): when the hourly sweep deleted the file's dynamic
-- partition from the Dagster instance; NULL while the file has one. An import or re-run of the file clears it.
ALTER TABLE metric_import_files ADD COLUMN IF NOT EXISTS partition_pruned_at timestamptz;

-- The sweep's bounded look-up of imported files whose partition is due for pruning, oldest run first.
CREATE INDEX IF NOT EXISTS idx_metric_import_files_prunable ON metric_import_files (last_attempt_at)
    WHERE status = 'imported' AND partition_pruned_at IS NULL;
