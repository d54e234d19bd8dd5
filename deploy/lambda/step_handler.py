"""Entry point of the step functions: Lambda imports this as `step_handler.handler` (ImageConfig.Command).

Module import is the function's init phase: it imports the worker (Dagster) and, if ECOM_LAMBDA_PRELOAD_MODULES
names it, the code location, so that a warm function starts a step without importing anything. The time
spent here is reported on every cold start, separate from the executor's own overhead.
"""

import time

_import_started = time.perf_counter()

from ecom_pipeline.lambda_executor.worker import handle_step_event, preload_modules  # noqa: E402

PRELOAD_FAILURES = preload_modules()
HANDLER_IMPORT_SECONDS = time.perf_counter() - _import_started
_cold = True


def handler(event, context):
    """Run the step named by the event; see ecom_pipeline.lambda_executor.worker.handle_step_event."""
    global _cold
    cold, _cold = _cold, False
    return handle_step_event(event, context, handler_import_seconds=HANDLER_IMPORT_SECONDS, cold_start=cold)
