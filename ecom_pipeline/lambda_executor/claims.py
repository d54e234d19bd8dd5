"""At-most-once guard for a step attempt across duplicate deliveries of the same invocation.

Dagster's `should_verify_step` rejects a delivery that arrives after the attempt has started (its step stats
exist), but two deliveries arriving together can both pass that check. A PostgreSQL session advisory lock on
(run, step, attempt), held on the instance's own database for as long as the step runs, makes the second
delivery see the first; the lock dies with the connection if the function is killed, and is released
explicitly otherwise because the pooled connection outlives the invocation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster import DagsterInstance

_LOCK_NAMESPACE = "ecom-pipeline/lambda-step"
_engines: dict[str, db.Engine] = {}  # one small pool per process: warm invocations skip the connect


def claim_lock_key(run_id: str, step_key: str, attempt: int) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, stable across processes."""
    digest = hashlib.sha256(f"{_LOCK_NAMESPACE}\0{run_id}\0{step_key}\0{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _postgres_url(instance: DagsterInstance) -> str | None:
    return getattr(instance.run_storage, "postgres_url", None)


@contextmanager
def step_attempt_claim(instance: DagsterInstance, run_id: str, step_key: str, attempt: int) -> Iterator[bool]:
    """Yield True if this process holds the attempt; False if another delivery does.

    Without a PostgreSQL instance (single-machine SQLite tests) there is no shared lock to take, and the
    claim falls back to Dagster's step verification alone.
    """
    url = _postgres_url(instance)
    if url is None:
        yield True
        return
    if url not in _engines:
        _engines[url] = db.create_engine(
            url, pool_size=1, max_overflow=1, pool_recycle=60, pool_pre_ping=True
        )
    with _engines[url].connect() as conn:
        key = claim_lock_key(run_id, step_key, attempt)
        held = bool(conn.execute(db.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(db.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
