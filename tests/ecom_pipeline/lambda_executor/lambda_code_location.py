"""The project's code location as a deployment with ECOM_STEP_EXECUTOR=lambda loads it.

A module of its own because the test process has already imported `ecom_pipeline.definitions` with the
default executor; the run worker (this process) and the step functions both load this one by name, as the
daemon and the functions both load `ecom_pipeline.definitions` on AWS.
"""

from ecom_pipeline.definitions import STEP_EXECUTOR_ENV, build_definitions, step_executor

defs = build_definitions(step_executor({STEP_EXECUTOR_ENV: "lambda"}))
