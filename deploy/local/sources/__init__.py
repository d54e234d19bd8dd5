"""Deterministic source systems for local use, tests and benchmarks.

- Database: `apply_schema(dsn)`, `seed_source_database(dsn, scale=1, ...)`, `generate_orders_table(dsn, rows, ...)`.
- Sample files (pure, bytes): `vendor_csv`, `energy_parquet`, `metric_json`, `broken_metric_json` and the
  `demo_*_files()` sets keyed by S3 key.

Same arguments, same bytes: every random draw comes from an RNG seeded by (seed, stream, chunk).
CLI: `python -m deploy.local.sources seed [--scale N]`, `python -m deploy.local.sources samples --out DIR`.
"""

from deploy.local.sources.catalog import INACTIVE_VENDOR, SUSPENDED_VENDOR, UNKNOWN_VENDOR, active_vendor_ids
from deploy.local.sources.database import SchemaFileError, apply_schema, schema_files
from deploy.local.sources.energy_files import (
    ENERGY_DATASETS,
    demo_energy_files,
    energy_invalid_rows,
    energy_key,
    energy_parquet,
)
from deploy.local.sources.metric_files import (
    METRIC_JSON_DEFECTS,
    broken_metric_json,
    demo_metric_files,
    metric_json,
)
from deploy.local.sources.seed import (
    SOURCE_TABLES,
    entity_tables,
    generate_orders_table,
    iter_order_tables,
    seed_source_database,
)
from deploy.local.sources.vendor_files import (
    CSV_COLUMNS,
    VENDOR_CSV_DEFECTS,
    demo_vendor_files,
    upload_key,
    vendor_csv,
    vendor_csv_defects,
)

__all__ = [
    "CSV_COLUMNS",
    "ENERGY_DATASETS",
    "INACTIVE_VENDOR",
    "METRIC_JSON_DEFECTS",
    "SOURCE_TABLES",
    "SUSPENDED_VENDOR",
    "UNKNOWN_VENDOR",
    "VENDOR_CSV_DEFECTS",
    "SchemaFileError",
    "active_vendor_ids",
    "apply_schema",
    "broken_metric_json",
    "demo_energy_files",
    "demo_metric_files",
    "demo_vendor_files",
    "energy_invalid_rows",
    "energy_key",
    "energy_parquet",
    "entity_tables",
    "generate_orders_table",
    "iter_order_tables",
    "metric_json",
    "schema_files",
    "seed_source_database",
    "upload_key",
    "vendor_csv",
    "vendor_csv_defects",
]
