"""One lock per partition in PostgreSQL, so two runs of one partition never interleave their writes.

Dagster's queue already runs one partition at a time (`tag_concurrency_limits` on `dagster/partition` in
deploy/dagster.yaml), but a second deployment, a manual `dagster asset materialize` or a run launched around the
queue does not see that limit. Every pipeline therefore also takes a PostgreSQL advisory lock named after its
partition on the source database (`rds`), which all four pipelines can reach:

- bronze: `bronze:<entity>:<day>`; product uploads: `product_uploads:<upload id>`; energy series:
  `energy_series:<dataset>:<day>`: a session lock held for the whole step (`locked_partition`);
- metric imports: `metric_import:<key>`, a transaction lock taken by the ledger around each file's own
  transaction (resources/metric_imports/ledger.py), with the same name and key (`lock_name`, `ADVISORY_KEY_SQL`).

A session lock lives on its own connection, so it is released when the step ends and also when the process
dies (the server closes the session), never left behind. The waiting run blocks up to `wait_seconds` and
then fails naming the partition and the run that holds it (read from the holder's `application_name`).
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg2.errors
from dagster import AssetExecutionContext, Failure

from resources.rds import RdsPostgresResource

DEFAULT_WAIT_SECONDS = 600.0  # longer than a queued duplicate should wait, shorter than a step's timeout
_APPLICATION_PREFIX = "ecom-lock run "  # + the holder's run id; fits PostgreSQL's 63-byte application_name
_KEY_SQL = "hashtextextended(%(name)s, 0)"

F = TypeVar("F", bound=Callable[..., Any])


def lock_name(pipeline: str, *parts: str) -> str:
    """The lock of one partition: the pipeline's name and the partition's parts, joined by ':'."""
    return ":".join((pipeline, *parts))


# The lock's 64-bit key as SQL over the parameter `%(name)s`: PostgreSQL hashes the name, so every caller
# (this module's session locks, the metric imports ledger's transaction locks) computes the same key.
ADVISORY_KEY_SQL = _KEY_SQL


class PartitionBusyError(Failure):
    """Another run holds the partition's lock for longer than this run was willing to wait."""


@contextmanager
def partition_lock(
    rds: RdsPostgresResource, name: str, run_id: str, wait_seconds: float | None = None
) -> Iterator[None]:
    """Hold the advisory lock `name` on a connection of its own for the duration of the block; wait up to
    `wait_seconds` (default `DEFAULT_WAIT_SECONDS`, read at call time) for another holder."""
    wait_seconds = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    conn = rds.connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('application_name', %s, false)", [_APPLICATION_PREFIX + run_id])
            # lock_timeout bounds the wait for an advisory lock too; 0 would mean "forever", hence the floor.
            cur.execute(
                "SELECT set_config('lock_timeout', %s, false)", [f"{max(1, int(wait_seconds * 1000))}ms"]
            )
            try:
                cur.execute(f"SELECT pg_advisory_lock({_KEY_SQL})", {"name": name})
            except psycopg2.errors.LockNotAvailable:
                holder = _holder(rds, name)
                raise PartitionBusyError(
                    description=f"partition {name} is being written by {holder}; waited {wait_seconds:g}s "
                    "for it to finish. Dagster's queue runs one partition at a time: this run bypassed it.",
                    metadata={"lock": name, "holder": holder, "waited_seconds": float(wait_seconds)},
                    allow_retries=True,
                ) from None
        yield
    finally:
        conn.close()  # ends the session, which releases its advisory locks


def _holder(rds: RdsPostgresResource, name: str) -> str:
    """The run holding `name`, from the lock table and the holder's application_name."""
    conn = rds.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                f"AND ((l.classid::bigint << 32) | l.objid::bigint) = {_KEY_SQL} LIMIT 1",
                {"name": name},
            )
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        return "another run (it has just released the lock)"
    application, pid = row
    if application and application.startswith(_APPLICATION_PREFIX):
        return f"run {application[len(_APPLICATION_PREFIX) :]} (backend pid {pid})"
    return f"another session (application {application or 'unnamed'!r}, backend pid {pid})"


def locked_partition(name_of: Callable[[AssetExecutionContext], str]) -> Callable[[F], F]:
    """Decorate an asset's function (below `@asset`) so its whole body runs under the partition's lock.

    The asset must take `rds: RdsPostgresResource`. A decorator keeps the asset bodies as they are; Dagster
    reads the wrapped function's signature through `functools.wraps`.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(context: AssetExecutionContext, *args: Any, **kwargs: Any) -> Any:
            with partition_lock(kwargs["rds"], name_of(context), context.run.run_id):
                return fn(context, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
