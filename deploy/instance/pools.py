"""Each concurrency pool's limit, a deployment setting (`ECOM_POOL_LIMIT_<POOL>`), applied to the instance.

Dagster keeps pool limits in the instance database, not in dagster.yaml (whose `concurrency` section takes
plain integers, no env vars), so this module sets them: `make stack-up` runs it locally, and on AWS the
daemon task runs it before the daemon starts (`python -m deploy.instance.pools --then dagster-daemon run ...`).
The same code and variables in both places; a limit changed by hand in the UI lasts until the next start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from dagster import DagsterInstance

from assets.pools import INFLUXDB_POOL, METRICS_DB_POOL, PRODUCTS_DB_POOL, SOURCE_API_POOL, SOURCE_DB_POOL

# Defaults sized for the backends: the source RDS and the API take a few parallel extractions; the write
# paths (products, metrics, InfluxDB) a few batches at once. Each can be raised per deployment.
DEFAULT_POOL_LIMITS: dict[str, int] = {
    SOURCE_DB_POOL: 4,
    SOURCE_API_POOL: 2,
    PRODUCTS_DB_POOL: 4,
    METRICS_DB_POOL: 4,
    INFLUXDB_POOL: 4,
}


class PoolLimitError(ValueError):
    """A pool limit variable that is not a whole number >= 0."""


def limit_variable(pool: str) -> str:
    """The environment variable of a pool's limit: `source_db` -> `ECOM_POOL_LIMIT_SOURCE_DB`."""
    return f"ECOM_POOL_LIMIT_{pool.upper()}"


def pool_limits_from_env(
    env: Mapping[str, str], defaults: Mapping[str, int] = DEFAULT_POOL_LIMITS
) -> dict[str, int]:
    """Every pool's limit: its variable when set, else its default. 0 stops the pool's steps."""
    limits = {}
    for pool, default in defaults.items():
        raw = env.get(limit_variable(pool), "").strip()
        if not raw:
            limits[pool] = default
            continue
        try:
            limits[pool] = int(raw)
        except ValueError:
            raise PoolLimitError(f"{limit_variable(pool)}={raw!r} is not a whole number") from None
        if limits[pool] < 0:
            raise PoolLimitError(f"{limit_variable(pool)}={raw!r} must be 0 or more")
    return limits


def apply_pool_limits(
    instance: DagsterInstance, limits: Mapping[str, int]
) -> dict[str, tuple[int | None, int]]:
    """Set each pool's slots on the instance (what `dagster instance concurrency set` does); pool -> (was, now).

    Slots already claimed by running steps are kept when a limit shrinks; the pool drains down to it.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        raise RuntimeError(
            "this instance's storage cannot hold pool limits (dagster.yaml: PostgreSQL storage)"
        )
    known = storage.get_concurrency_keys()
    changes = {}
    for pool, limit in limits.items():
        before = storage.get_concurrency_info(pool).slot_count if pool in known else None
        storage.set_concurrency_slots(pool, limit)
        changes[pool] = (before, limit)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.instance.pools", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--then",
        nargs=argparse.REMAINDER,
        default=[],
        help="a command to exec once the limits are set (the daemon on AWS), so no shell is needed",
    )
    args = parser.parse_args(argv)
    limits = pool_limits_from_env(os.environ)
    with DagsterInstance.get() as instance:
        for pool, (before, now) in apply_pool_limits(instance, limits).items():
            was = "unset" if before is None else before
            print(f"pool {pool:<12} limit {now} (was {was}; {limit_variable(pool)})", flush=True)
    if args.then:
        os.execvp(args.then[0], args.then)
    return 0


if __name__ == "__main__":
    sys.exit(main())
