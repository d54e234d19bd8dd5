from datetime import UTC, datetime

from dagster import build_schedule_context

from ecom_pipeline.bronze.windows import LOAD_TYPE_TAG
from sensors.bronze import bronze_daily_schedule


def test_schedule_runs_after_midnight_utc_for_the_previous_day_incrementally():
    assert bronze_daily_schedule.cron_schedule == "30 0 * * *"
    assert bronze_daily_schedule.execution_timezone == "UTC"
    assert bronze_daily_schedule.job_name == "bronze_job"
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 3, 1, 0, 30, tzinfo=UTC))
    (request,) = bronze_daily_schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-02-28"
    assert request.tags[LOAD_TYPE_TAG] == "incremental"
