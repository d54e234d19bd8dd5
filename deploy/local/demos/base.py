"""What every pipeline demo needs: evaluate a sensor or schedule on the real instance and launch its runs.

The demo drives Dagster the way the daemon does (cursor kept between ticks, dynamic partitions added, a run
key launched once) but in this process, so `make demo` needs no daemon and still leaves every run, event and
materialization in the stack's PostgreSQL instance for `make dev` to show.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    RunsFilter,
    build_schedule_context,
    build_sensor_context,
    partition_loading_context,
)

from assets.partitions import partition_range_of

RUN_KEY_TAG = "dagster/run_key"


@dataclass
class DemoRunOutcome:
    run_id: str
    success: bool
    partition_key: str | None
    materializations: int
    checks_passed: int
    checks_failed: int
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # asset key -> metadata values
    skipped_duplicate: bool = False


@dataclass
class DemoSummary:
    pipeline: str
    runs_succeeded: int = 0
    runs_failed: int = 0  # failed runs the demo expected (bad input), not errors of the demo
    assets_materialized: int = 0
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: DemoRunOutcome) -> None:
        if outcome.skipped_duplicate:
            return
        if outcome.success:
            self.runs_succeeded += 1
        else:
            self.runs_failed += 1
        self.assets_materialized += outcome.materializations
        self.checks_passed += outcome.checks_passed
        self.checks_failed += outcome.checks_failed


class DemoError(RuntimeError):
    """A demo saw an outcome it did not expect."""


def _with_job(request: RunRequest, job_name: str) -> RunRequest:
    """A single-target sensor's requests leave the job implicit; the demo launches them explicitly."""
    return request if request.job_name else request.with_replaced_attrs(job_name=job_name)


@dataclass
class DemoContext:
    instance: DagsterInstance
    defs: Definitions
    log: Callable[[str], None] = print
    _cursors: dict[str, str | None] = field(default_factory=dict)

    def evaluate_sensor(self, name: str) -> list[RunRequest]:
        """One sensor tick: keeps the cursor between calls and applies dynamic-partition requests."""
        sensor_def = self.defs.get_repository_def().get_sensor_def(name)
        # Sensors take resources, so the context must be entered. Built from an instance ref, the context
        # resolves partition keys the same tick adds (dynamic partitions), as the daemon's does.
        with build_sensor_context(
            instance_ref=self.instance.get_ref(),
            cursor=self._cursors.get(name),
            sensor_name=name,
            definitions=self.defs,
            resources=self.defs.resources,
        ) as context:
            data = sensor_def.evaluate_tick(context)
        for request in data.dynamic_partitions_requests or []:
            if isinstance(request, AddDynamicPartitionsRequest):
                self.instance.add_dynamic_partitions(
                    request.partitions_def_name, list(request.partition_keys)
                )
        self._cursors[name] = data.cursor
        requests = [_with_job(r, sensor_def.job_name) for r in data.run_requests or []]
        self.log(
            f"sensor {name}: {len(requests)} run request(s)"
            + (f" ({data.skip_message})" if data.skip_message else "")
        )
        return requests

    def evaluate_schedule(self, name: str, scheduled_time: datetime) -> list[RunRequest]:
        repository = self.defs.get_repository_def()
        with (
            build_schedule_context(
                instance=self.instance,
                scheduled_execution_time=scheduled_time,
                resources=self.defs.resources,
                repository_def=repository,
            ) as context,
            partition_loading_context(dynamic_partitions_store=self.instance),
        ):
            schedule_def = repository.get_schedule_def(name)
            data = schedule_def.evaluate_tick(context)
        requests = [_with_job(r, schedule_def.job_name) for r in data.run_requests or []]
        self.log(f"schedule {name} at {scheduled_time.isoformat()}: {len(requests)} run request(s)")
        return requests

    def launch(self, run_request: RunRequest, job_name: str | None = None) -> DemoRunOutcome:
        """Run the request in process on the instance; a run key that already ran is skipped, as the daemon does."""
        job_name = job_name or run_request.job_name
        if not job_name:
            raise DemoError("run request names no job and none was given")
        tags = dict(run_request.tags or {})
        if run_request.run_key:
            tags[RUN_KEY_TAG] = run_request.run_key
            earlier = self.instance.get_runs(
                RunsFilter(job_name=job_name, tags={RUN_KEY_TAG: run_request.run_key}), limit=1
            )
            if earlier:
                self.log(
                    f"  run key {run_request.run_key!r} already launched as {earlier[0].run_id[:8]}; skipped"
                )
                return DemoRunOutcome(
                    run_id=earlier[0].run_id,
                    success=earlier[0].status == DagsterRunStatus.SUCCESS,
                    partition_key=run_request.partition_key,
                    materializations=0,
                    checks_passed=0,
                    checks_failed=0,
                    skipped_duplicate=True,
                )
        job = self.defs.get_job_def(job_name)
        result = job.execute_in_process(
            instance=self.instance,
            partition_key=run_request.partition_key,
            run_config=run_request.run_config or None,
            tags=tags,
            raise_on_error=False,
        )
        materializations = result.get_asset_materialization_events()
        evaluations = result.get_asset_check_evaluations()
        outcome = DemoRunOutcome(
            run_id=result.run_id,
            success=result.success,
            partition_key=run_request.partition_key,
            materializations=len(materializations),
            checks_passed=sum(1 for e in evaluations if e.passed),
            checks_failed=sum(1 for e in evaluations if not e.passed),
            metadata={
                event.asset_key.to_user_string(): {
                    key: value.value for key, value in event.materialization.metadata.items()
                }
                for event in materializations
            },
        )
        status = "succeeded" if result.success else "FAILED"
        self.log(
            f"  run {result.run_id[:8]} {job_name} [{_partitions_of(run_request)}] {status}: "
            f"{outcome.materializations} materialization(s), checks {outcome.checks_passed} passed / "
            f"{outcome.checks_failed} failed"
        )
        return outcome


def _partitions_of(run_request: RunRequest) -> str:
    """The partition a request targets, or its partition range (`first..last`)."""
    tags = run_request.tags or {}
    bounds = partition_range_of(tags)
    if run_request.partition_key is None and bounds:
        return f"{bounds[0]}..{bounds[1]}"
    return str(run_request.partition_key)
