"""How a pipeline's job is built: every asset of its group, on its partitions.

Each pipeline has two jobs over the same asset group: `<pipeline>_job` on the default (multiprocess) executor,
which `make dev` uses, and `<pipeline>_job_on_lambda`, whose every step is an AWS Lambda invocation
(ecom_pipeline.lambda_executor; steps pick their function by the op tag `ecom/lambda_size`).
"""

from typing import Any

from dagster import AssetSelection, ExecutorDefinition, PartitionsDefinition, define_asset_job

from ecom_pipeline.lambda_executor import lambda_executor


def pipeline_jobs(pipeline: str, partitions_def: PartitionsDefinition, description: str) -> tuple[Any, Any]:
    """`<pipeline>_job` and `<pipeline>_job_on_lambda` over the asset group named after the pipeline.

    Typed `Any`: the type `define_asset_job` returns is private to Dagster.
    """

    def job(job_name: str, what: str, executor_def: ExecutorDefinition | None) -> Any:
        return define_asset_job(
            job_name,
            selection=AssetSelection.groups(pipeline),
            partitions_def=partitions_def,
            executor_def=executor_def,
            description=what,
        )

    return (
        job(f"{pipeline}_job", description, None),
        job(
            f"{pipeline}_job_on_lambda",
            f"{description} Every step runs in its own Lambda invocation.",
            lambda_executor,
        ),
    )
