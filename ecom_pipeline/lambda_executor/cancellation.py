"""Stop a running step when its run is terminated.

Lambda has no API to stop an invocation, so the handler polls the run's status and, once the run is
CANCELING or CANCELED, interrupts the step the same way `dagster api execute_run` does (SIGINT to the main
thread, which Dagster turns into a step interruption with its events). A lock keeps the watcher from
interrupting after the step body has returned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster import DagsterInstance, DagsterRunStatus
from dagster._utils import send_interrupt

STOPPING_STATUSES = (DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED)


@contextmanager
def interrupt_on_run_termination(
    instance: DagsterInstance,
    run_id: str,
    poll_seconds: float,
    on_interrupt: Callable[[DagsterRunStatus], None] | None = None,
) -> Iterator[threading.Event]:
    """Watch the run while the body runs; the yielded event is set if the watcher interrupted it."""
    done = threading.Event()
    interrupted = threading.Event()
    guard = threading.Lock()

    def watch() -> None:
        while not done.wait(poll_seconds):
            try:
                run = instance.get_run_by_id(run_id)
            except Exception:  # a transient storage error must not kill the step; try again next poll
                continue
            if run is None or run.status not in STOPPING_STATUSES:
                continue
            with guard:
                if done.is_set():
                    return
                interrupted.set()
                if on_interrupt is not None:
                    on_interrupt(run.status)
                send_interrupt()
            return

    watcher = threading.Thread(target=watch, name="lambda-step-cancellation", daemon=True)
    watcher.start()
    try:
        yield interrupted
    finally:
        with guard:
            done.set()
        watcher.join(timeout=poll_seconds + 1)
