"""Each way an invocation goes wrong becomes a step failure reason; a live one stays healthy."""

from ecom_pipeline.lambda_executor.health import InvocationRecord, unhealthy_reason
from ecom_pipeline.lambda_executor.markers import (
    CRASHED,
    DEADLINE_KEY,
    DUPLICATE,
    EXPIRED,
    FINISHED,
    INVOCATION_ID_KEY,
    MARKER_KEY,
    NO_OUTCOME,
    OUTCOME_KEY,
    REASON_KEY,
    REQUEST_ID_KEY,
    STARTED,
    Marker,
    marker_from_metadata,
)


def _record(**overrides) -> InvocationRecord:
    fields = dict(
        invocation_id="inv",
        step_key="a",
        attempt=1,
        function_name="ecom-pipeline-step-small-local",
        launched_at=1000.0,
        start_deadline=1010.0,
        request_id="req-1",
    )
    fields.update(overrides)
    return InvocationRecord(**fields)


def _marker(kind: str, ts: float, **extra) -> Marker:
    return Marker(kind=kind, invocation_id="inv", step_key="a", timestamp=ts, **extra)


def test_waiting_for_start_is_healthy_until_the_start_deadline():
    record = _record()
    assert unhealthy_reason(record, now=1009.0, timeout_grace_s=5) is None
    reason = unhealthy_reason(record, now=1011.0, timeout_grace_s=5)
    assert reason is not None and "did not start within 10s" in reason and "req-1" in reason


def test_invoke_error_fails_immediately():
    record = _record(invoke_error="ResourceNotFoundException: Function not found")
    assert "invoking ecom-pipeline-step-small-local failed: ResourceNotFoundException" in unhealthy_reason(
        record, now=1000.5, timeout_grace_s=5
    )


def test_crash_marker_fails_with_the_handlers_reason():
    record = _record()
    record.observe(_marker(STARTED, 1002.0, deadline=1300.0))
    record.observe(_marker(CRASHED, 1003.0, reason="DagsterImportError: no module x"))
    assert "DagsterImportError: no module x" in unhealthy_reason(record, now=1003.5, timeout_grace_s=5)


def test_started_step_is_healthy_until_the_function_deadline_plus_grace():
    record = _record()
    record.observe(_marker(STARTED, 1002.0, deadline=1005.0, request_id="req-1"))
    assert unhealthy_reason(record, now=1500.0 - 490, timeout_grace_s=5) is None  # 1010 <= 1005 + 5
    reason = unhealthy_reason(record, now=1010.5, timeout_grace_s=5)
    assert reason is not None and "outlived the function's" in reason


def test_function_timeout_from_configuration_when_the_marker_has_no_deadline():
    record = _record(function_timeout_s=3.0)
    record.observe(_marker(STARTED, 1002.0))
    assert unhealthy_reason(record, now=1009.0, timeout_grace_s=5) is None
    assert "3s timeout" in unhealthy_reason(record, now=1010.1, timeout_grace_s=5)


def test_finished_invocation_is_never_flagged_and_duplicates_do_not_change_health():
    record = _record()
    record.observe(_marker(STARTED, 1002.0, deadline=1005.0))
    record.observe(_marker(DUPLICATE, 1002.5))
    record.observe(_marker(FINISHED, 1004.0, outcome="STEP_SUCCESS"))
    assert record.duplicates == 1
    assert unhealthy_reason(record, now=5000.0, timeout_grace_s=5) is None


def test_finished_without_outcome_and_expired_are_failures():
    refused = _record()
    refused.observe(_marker(STARTED, 1002.0, deadline=1300.0))
    refused.observe(_marker(FINISHED, 1003.0, outcome=NO_OUTCOME, reason="verification refused"))
    assert "verification refused" in unhealthy_reason(refused, now=1003.5, timeout_grace_s=5)
    expired = _record()
    expired.observe(_marker(EXPIRED, 1020.0, reason="delivered 10.0s after the start deadline"))
    assert "after the start deadline" in unhealthy_reason(expired, now=1020.5, timeout_grace_s=5)


def test_marker_metadata_round_trip_and_foreign_events_ignored():
    metadata = {
        MARKER_KEY: STARTED,
        INVOCATION_ID_KEY: "inv",
        REQUEST_ID_KEY: "req-9",
        DEADLINE_KEY: 1234.5,
        REASON_KEY: None,
        OUTCOME_KEY: None,
    }
    marker = marker_from_metadata(metadata, "a", 1001.0)
    assert marker == Marker(STARTED, "inv", "a", 1001.0, request_id="req-9", deadline=1234.5)
    assert marker_from_metadata({"pid": "12"}, "a", 1.0) is None
    assert marker_from_metadata({MARKER_KEY: "bogus", INVOCATION_ID_KEY: "inv"}, "a", 1.0) is None
