"""The shared partition lock against the stack's PostgreSQL, and two bronze runs of one partition at once."""

import os
import threading
import uuid

import psycopg2
import pytest
from dagster import DagsterInstance, materialize

import resources.partition_lock as partition_lock_module
from assets.bronze.assets import build_bronze_asset
from resources.partition_lock import PartitionBusyError, lock_name, partition_lock
from resources.rds import RdsPostgresResource
from resources.secrets import SecretsManagerResource
from tests.assets.bronze.conftest import bronze_sandbox_fixture  # noqa: F401 (fixture)
from tests.assets.bronze.sandbox import materialization_metadata, step_errors
from tests.assets.bronze.test_rds import ids, make_events


@pytest.fixture(name="rds")
def rds_fixture(stack_env) -> RdsPostgresResource:
    return RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=os.environ["RDS_SECRET_NAME"])


def test_a_held_partition_fails_the_second_holder_naming_the_partition_and_the_run(rds):
    name = lock_name("bronze", f"t{uuid.uuid4().hex[:8]}", "2026-06-10")
    with partition_lock(rds, name, "run-holding-it"):
        with pytest.raises(PartitionBusyError) as raised:
            with partition_lock(rds, name, "run-waiting", wait_seconds=0.2):
                pytest.fail("two holders of one partition lock")
        assert name in raised.value.description and "run run-holding-it" in raised.value.description
        # Another partition is not blocked.
        with partition_lock(rds, name + "-other", "run-waiting", wait_seconds=0.2):
            pass
    with partition_lock(rds, name, "run-after", wait_seconds=0.2):  # released at the end of the block
        pass


def test_a_waiting_holder_gets_the_lock_when_the_first_one_releases_it(rds):
    name = lock_name("energy_series", "generation", uuid.uuid4().hex)
    order: list[str] = []
    first_holds, release = threading.Event(), threading.Event()

    def first() -> None:
        with partition_lock(rds, name, "first"):
            order.append("first in")
            first_holds.set()
            release.wait(30)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(30)
    release.set()  # the second call below blocks until the first block has ended
    with partition_lock(rds, name, "second", wait_seconds=60):
        order.append("second in")
    thread.join(30)
    assert order == ["first in", "first out", "second in"]


def test_a_holder_whose_session_dies_releases_the_lock(rds):
    """A process killed mid-step (its backend terminated) leaves no lock behind."""
    name = lock_name("product_uploads", uuid.uuid4().hex)
    holder = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0)), pg_backend_pid()", [name])
        pid = cur.fetchone()[1]
    with pytest.raises(PartitionBusyError):
        with partition_lock(rds, name, "second", wait_seconds=0.2):
            pass
    with psycopg2.connect(os.environ["ECOM_SOURCE_DSN"]) as admin, admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    with partition_lock(rds, name, "second", wait_seconds=30):
        pass
    holder.close()


def test_a_bronze_run_of_a_partition_held_elsewhere_fails_clearly_and_writes_nothing(
    bronze_sandbox, rds, monkeypatch
):
    sandbox = bronze_sandbox
    make_events(sandbox, [(1, "2026-06-10T01:00:00", "2026-06-10T02:00:00")])
    entity = sandbox.entity("events")
    monkeypatch.setattr(partition_lock_module, "DEFAULT_WAIT_SECONDS", 0.5)
    with partition_lock(rds, lock_name("bronze", entity.name, "2026-06-10"), "the-other-deployment"):
        blocked = sandbox.run([entity], "2026-06-10")
    assert not blocked.success
    (error,) = step_errors(blocked).values()
    assert f"partition bronze:{entity.name}:2026-06-10 is being written by run the-other-deployment" in error
    assert sandbox.keys(f"data/bronze/{entity.name}/") == [] and sandbox.checkpoint(entity) is None
    after = sandbox.run([entity], "2026-06-10")
    assert after.success and materialization_metadata(after, entity)["rows"] == 1


def test_two_bronze_runs_of_one_partition_at_once_leave_the_data_of_one_run(bronze_sandbox):
    """Launched together: the second waits for the first (or, past the wait, fails naming it); either way the
    lake holds each row once and the checkpoint is the one a single run leaves."""
    sandbox = bronze_sandbox
    make_events(sandbox, [(i, "2026-06-10T01:00:00", f"2026-06-10T{i:02d}:00:00") for i in range(1, 13)])
    entity = sandbox.entity("events")
    start = threading.Barrier(2)
    results = []

    def run() -> None:
        # Each run has its own Dagster instance, as two deployments (or a run launched around the queue) do.
        with DagsterInstance.ephemeral() as instance:
            start.wait()
            results.append(
                materialize(
                    [build_bronze_asset(entity)],
                    partition_key="2026-06-10",
                    resources=sandbox.resources(),
                    instance=instance,
                    raise_on_error=False,
                )
            )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert len(results) == 2
    for result in results:
        errors = step_errors(result)
        assert result.success or "is being written by run" in next(iter(errors.values())), errors
    assert any(result.success for result in results)
    assert ids(sandbox.read(entity)) == list(range(1, 13))  # every row once: no mixed or deleted parts
    assert sandbox.checkpoint(entity) is not None
