"""How a pipeline's job is built: every asset of its group, on its partitions.

One job per pipeline, with no executor of its own: the code location's `Definitions(executor=...)` gives it
(and the jobless asset runs of UI backfills) the executor the deployment picked with ECOM_STEP_EXECUTOR
(ecom_pipeline/definitions.py), so the same job runs its steps in processes or in Lambda invocations.
"""

from typing import Any

from dagster import AssetSelection, PartitionsDefinition, define_asset_job


def pipeline_job(pipeline: str, partitions_def: PartitionsDefinition, description: str) -> Any:
    """`<pipeline>_job` over the asset group named after the pipeline.

    Typed `Any`: the type `define_asset_job` returns is private to Dagster.
    """
    return define_asset_job(
        f"{pipeline}_job",
        selection=AssetSelection.groups(pipeline),
        partitions_def=partitions_def,
        description=description,
    )
