"""`bronze_daily_schedule`: yesterday's bronze partition, incremental, shortly after midnight UTC.

The 00:30 start leaves transactions that stamped `updated_at` just before midnight time to commit before their
window is read; the incremental window starts at each entity's checkpoint, so a day the schedule missed is
caught up by the next run.
"""

from dagster import build_schedule_from_partitioned_job

from assets.bronze import bronze_job
from ecom_pipeline.bronze.windows import LOAD_TYPE_TAG, LoadType

bronze_daily_schedule = build_schedule_from_partitioned_job(
    bronze_job,
    name="bronze_daily_schedule",
    description="Ingest the previous UTC day's source changes into bronze (incremental).",
    hour_of_day=0,
    minute_of_hour=30,
    tags={LOAD_TYPE_TAG: LoadType.INCREMENTAL.value},
)
