"""Health of one step invocation, judged from what the executor launched and the markers it has read.

Kept free of Dagster and boto3 so every failure mode (invoke error, crash, never started, outlived the
function) is a plain unit test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecom_pipeline.lambda_executor.markers import (
    CRASHED,
    DUPLICATE,
    EXPIRED,
    FINISHED,
    NO_OUTCOME,
    STARTED,
    Marker,
)

# What to do about a step too long for one invocation (deploy/README.md, "Steps longer than the timeout").
OUTLIVED_TIMEOUT_ADVICE = (
    "A stopped step leaves what a failed one does (docs/<pipeline>.md; a bronze step stopped before promoting "
    "leaves its live folder and checkpoint unchanged), so a re-run is safe but will stop again. Give the "
    "step a bigger function (op tag ecom/lambda_size=large: 900 s, Lambda's maximum, and more memory and CPU), "
    "or split its work into shorter steps (for a bronze full load of a large table: backfill its daily "
    "partitions oldest first, one run at a time, so each run extracts one day's changes); see deploy/README.md."
)


@dataclass
class InvocationRecord:
    """What the executor knows about the invocation it made for one step attempt."""

    invocation_id: str
    step_key: str
    attempt: int
    function_name: str
    launched_at: float
    start_deadline: float
    function_timeout_s: float | None = None
    request_id: str | None = None
    payload_uri: str | None = None
    invoke_error: str | None = None
    started_at: float | None = None
    function_deadline: float | None = None
    crash_reason: str | None = None
    finished: bool = False
    duplicates: int = 0
    markers: list[str] = field(default_factory=list)

    def observe(self, marker: Marker) -> None:
        self.markers.append(marker.kind)
        if marker.request_id and marker.kind == STARTED:
            self.request_id = (
                marker.request_id
            )  # the function's own id (the invoke response's may differ locally)
        if marker.kind == STARTED and self.started_at is None:
            self.started_at = marker.timestamp
            self.function_deadline = marker.deadline
        elif marker.kind == CRASHED:
            self.crash_reason = marker.reason or "unknown error"
        elif marker.kind == FINISHED and marker.outcome == NO_OUTCOME:
            self.crash_reason = marker.reason or "the handler finished without running the step"
        elif marker.kind == FINISHED:
            self.finished = True
        elif marker.kind == DUPLICATE:
            self.duplicates += 1
        elif marker.kind == EXPIRED and self.started_at is None:
            self.crash_reason = marker.reason or "delivered after the start deadline"


def unhealthy_reason(record: InvocationRecord, now: float, timeout_grace_s: float) -> str | None:
    """Why the invocation can no longer produce the step's outcome, or None while it still may."""
    where = f"{record.function_name} (request {record.request_id or 'unknown'})"
    if record.invoke_error is not None:
        return f"invoking {record.function_name} failed: {record.invoke_error}"
    if record.finished:
        return None
    if record.crash_reason is not None:
        return f"Lambda invocation {where} failed before the step finished: {record.crash_reason}"
    if record.started_at is None:
        if now > record.start_deadline:
            waited = record.start_deadline - record.launched_at
            return (
                f"step did not start within {waited:.0f}s of invoking {where}: the function may have failed "
                "to initialise (import error, out of memory), been throttled, or dropped the event"
            )
        return None
    deadline = record.function_deadline
    if deadline is None and record.function_timeout_s is not None:
        deadline = record.started_at + record.function_timeout_s
    if deadline is not None and now > deadline + timeout_grace_s:
        limit = f"{record.function_timeout_s:.0f}s " if record.function_timeout_s else ""
        return (
            f"step outlived the function's {limit}timeout in {where}: no outcome by the invocation's deadline "
            f"(+{timeout_grace_s:.0f}s grace), so the function was stopped. {OUTLIVED_TIMEOUT_ADVICE}"
        )
    return None
