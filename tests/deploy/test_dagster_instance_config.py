"""deploy/dagster.yaml's run queue: one run per partition at a time, for every pipeline's partition keys.

The instance is built by Dagster from the file's `run_coordinator` section, and the queue's own limit counter
(the one the run queue daemon consults before launching) decides which queued runs are blocked.
"""

from pathlib import Path

import yaml
from dagster import DagsterRun, DagsterRunStatus, MultiPartitionKey
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.test_utils import create_run_for_test, instance_for_test
from dagster._core.utils import make_new_run_id
from dagster._utils.tags import TagConcurrencyLimitsCounter

INSTANCE_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"
PARTITION_TAG = "dagster/partition"


def test_a_second_run_of_a_partition_waits_in_the_queue_and_other_partitions_do_not():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    overrides = {"run_coordinator": config["run_coordinator"], "concurrency": config["concurrency"]}
    with instance_for_test(overrides=overrides) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        energy = str(MultiPartitionKey({"dataset": "generation", "date": "2026-06-10"}))
        in_progress = [
            create_run_for_test(
                instance, job_name=job, tags={PARTITION_TAG: key}, status=DagsterRunStatus.STARTED
            )
            for job, key in [
                ("bronze_job", "2026-06-10"),
                ("product_uploads_job", "VEND001_products_20260610_a1b2"),
                ("energy_series_job", energy),
                ("metric_imports_job", "imports/a.json"),
            ]
        ]
        counter = TagConcurrencyLimitsCounter(limits, in_progress)

        def blocked(job: str, key: str) -> bool:
            return counter.is_blocked(
                DagsterRun(job_name=job, run_id=make_new_run_id(), tags={PARTITION_TAG: key})
            )

        for run in in_progress:  # a schedule run and a backfill of the same partition, say
            assert blocked(run.job_name, run.tags[PARTITION_TAG])
        assert not blocked("bronze_job", "2026-06-11")
        assert not blocked(
            "energy_series_job", str(MultiPartitionKey({"dataset": "consumption", "date": "2026-06-10"}))
        )
        assert not blocked("metric_imports_job", "imports/b.json")
        # A run without a partition tag (a range of metric files) is not limited here: the ledger locks per file.
        assert not counter.is_blocked(DagsterRun(job_name="metric_imports_job", run_id=make_new_run_id()))
