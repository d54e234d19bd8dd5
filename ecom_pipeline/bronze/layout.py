"""S3 keys of the bronze lake (Hive-style, so Athena reads the folders as partitions).

    {root}/{entity}/ingestion_date=YYYY-MM-DD/load_type=full|incremental/event_date=YYYY-MM-DD/part-NNNNN.parquet

A run of partition D with load type L owns exactly the prefix `{root}/{entity}/ingestion_date=D/load_type=L/`
(ingestion_date is the partition date, not the wall-clock date, so a re-run or backfill lands in the same
folder and replaces it). `_manifest.json` in that prefix records what the last successful run committed;
Athena and Hive skip files whose names start with `_`. New parts are first written under a per-ingestion
staging prefix outside the table and copied into place only when every part is written.
"""

import re
from collections.abc import Iterable
from datetime import date

from ecom_pipeline.bronze.windows import LoadType

MANIFEST_NAME = "_manifest.json"
_INGESTION_DATE = re.compile(r"ingestion_date=(\d{4}-\d{2}-\d{2})/$")


def entity_prefix(root: str, entity: str) -> str:
    return f"{root.strip('/')}/{entity}/"


def partition_prefix(root: str, entity: str, ingestion_date: date, load_type: str) -> str:
    return f"{entity_prefix(root, entity)}ingestion_date={ingestion_date.isoformat()}/load_type={load_type}/"


def part_relative_key(event_date: str, part_number: int) -> str:
    return f"event_date={event_date}/part-{part_number:05d}.parquet"


def manifest_key(prefix: str) -> str:
    return f"{prefix}{MANIFEST_NAME}"


def staging_prefix(staging_root: str, entity: str, ingestion_id: str) -> str:
    return f"{staging_root.strip('/')}/{entity}/{ingestion_id}/"


def ingestion_date_of(common_prefix: str) -> date | None:
    """The date of an `.../ingestion_date=YYYY-MM-DD/` listing prefix, None for anything else."""
    match = _INGESTION_DATE.search(common_prefix)
    return date.fromisoformat(match.group(1)) if match else None


def earlier_partition_prefixes(
    root: str, entity: str, folders: Iterable[str], before: date, load_type: str, dates: int
) -> list[str]:
    """Partition prefixes to search for the previous partition, nearest first.

    `folders` are the entity's `ingestion_date=` listing prefixes; only the `dates` nearest dates before
    `before` are searched (a bounded number of reads), each with `load_type` first, then the other load types.
    """
    earlier = sorted((d for d in map(ingestion_date_of, folders) if d and d < before), reverse=True)[:dates]
    kinds = [load_type, *(kind.value for kind in LoadType if kind.value != load_type)]
    return [partition_prefix(root, entity, day, kind) for day in earlier for kind in kinds]
