"""Concurrency pools: one per backend that a wide backfill could overload.

A step that opens connections to one of these backends declares the pool (`@asset(pool=...)`); the instance
(`deploy/dagster.yaml`, limits set at stack-up / deploy time) caps how many such steps run at once across all
runs, and the UI shows each pool and the steps waiting in it.
"""

SOURCE_DB_POOL = "source_db"  # bronze extraction reads from the RDS source database
SOURCE_API_POOL = "source_api"  # bronze extraction from the payments/shipments APIs
PRODUCTS_DB_POOL = "products_db"  # product upload validation writes the products table
METRICS_DB_POOL = "metrics_db"  # metric imports write the metrics table
INFLUXDB_POOL = "influxdb"  # energy series writes to InfluxDB

POOLS = (SOURCE_DB_POOL, SOURCE_API_POOL, PRODUCTS_DB_POOL, METRICS_DB_POOL, INFLUXDB_POOL)
