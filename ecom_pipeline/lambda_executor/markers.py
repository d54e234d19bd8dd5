"""Engine-event markers the step handler writes so the executor can judge an invocation's health.

Async invocations have no status API; the run's event log is the one channel both sides share. Every marker
is an engine event on the step whose metadata holds MARKER_KEY and the invocation id, so the executor can read
them with a cursor and attribute them to exactly one invocation.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKER_KEY = "ecom/lambda_marker"
INVOCATION_ID_KEY = "ecom/lambda_invocation_id"
REQUEST_ID_KEY = "lambda request id"
FUNCTION_KEY = "lambda function"
DEADLINE_KEY = "function deadline (epoch s)"
REASON_KEY = "reason"
OUTCOME_KEY = "outcome"
NO_OUTCOME = "none"  # FINISHED without a step outcome: Dagster's step verification refused to run it

STARTED = "started"  # handler accepted the invocation; carries the function's own deadline
CRASHED = "crashed"  # handler failed before the step reported an outcome
DUPLICATE = "duplicate"  # another delivery of the same attempt holds it; this one did nothing
EXPIRED = "expired"  # delivered after the executor's start deadline; refused
FINISHED = "finished"  # handler returned after the step reported its outcome

MARKERS = (STARTED, CRASHED, DUPLICATE, EXPIRED, FINISHED)


@dataclass(frozen=True)
class Marker:
    kind: str
    invocation_id: str
    step_key: str | None
    timestamp: float
    request_id: str | None = None
    deadline: float | None = None
    reason: str | None = None
    outcome: str | None = None


def marker_from_metadata(
    metadata: dict[str, object], step_key: str | None, timestamp: float
) -> Marker | None:
    """Read a marker out of an engine event's plain metadata values; None if the event is not one."""
    kind = metadata.get(MARKER_KEY)
    invocation_id = metadata.get(INVOCATION_ID_KEY)
    if kind not in MARKERS or not isinstance(invocation_id, str):
        return None
    deadline = metadata.get(DEADLINE_KEY)
    request_id = metadata.get(REQUEST_ID_KEY)
    reason = metadata.get(REASON_KEY)
    outcome = metadata.get(OUTCOME_KEY)
    return Marker(
        kind=str(kind),
        invocation_id=invocation_id,
        step_key=step_key,
        timestamp=timestamp,
        request_id=str(request_id) if request_id is not None else None,
        deadline=float(deadline) if isinstance(deadline, int | float) else None,
        reason=str(reason) if reason is not None else None,
        outcome=str(outcome) if outcome is not None else None,
    )
