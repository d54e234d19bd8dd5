"""CloudWatch alarms of a step function, notifying the pipeline's SNS topic.

Errors use seed 004's thresholds per 10 minutes; duration alarms at 13/15 of the timeout (seed 001's
"> 13 minutes" for the 15-minute function), early enough to look before the executor reports a timeout.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy.cdk.settings import (
    DURATION_ALARM_FRACTION_OF_TIMEOUT,
    ERROR_ALARM_PERIOD_MINUTES,
    ERROR_ALARM_THRESHOLDS,
    DeploymentSettings,
)


def duration_alarm_threshold_ms(timeout_s: int) -> int:
    """Milliseconds above which a run is "near the timeout": 780 000 for 900 s, 260 000 for 300 s."""
    return round(timeout_s * 1000 * DURATION_ALARM_FRACTION_OF_TIMEOUT)


def add_step_function_alarms(
    scope: Construct,
    settings: DeploymentSettings,
    size: str,
    function: lambda_.IFunction,
    topic: sns.ITopic,
) -> list[cloudwatch.Alarm]:
    """Errors and duration-near-timeout alarms for one function."""
    name = settings.step_function_name(size)
    timeout_s = settings.step_sizes[size]["timeout_s"]
    errors = cloudwatch.Alarm(
        scope,
        f"{size.title()}ErrorsAlarm",
        alarm_name=f"{name}-errors",
        alarm_description=(
            f"More than {ERROR_ALARM_THRESHOLDS[size]} errors in {ERROR_ALARM_PERIOD_MINUTES} minutes"
        ),
        metric=function.metric_errors(
            period=Duration.minutes(ERROR_ALARM_PERIOD_MINUTES), statistic=cloudwatch.Stats.SUM
        ),
        threshold=ERROR_ALARM_THRESHOLDS[size],
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    duration = cloudwatch.Alarm(
        scope,
        f"{size.title()}DurationAlarm",
        alarm_name=f"{name}-duration-near-timeout",
        alarm_description=f"A step ran longer than {DURATION_ALARM_FRACTION_OF_TIMEOUT:.0%} of the {timeout_s} s timeout",
        metric=function.metric_duration(period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM),
        threshold=duration_alarm_threshold_ms(timeout_s),
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarms = [errors, duration]
    for alarm in alarms:
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarms


def add_dead_letter_alarm(
    scope: Construct, settings: DeploymentSettings, queue: sqs.IQueue, topic: sns.ITopic
) -> cloudwatch.Alarm:
    """Any message in the step functions' DLQ is an invocation that never ran: someone should look."""
    alarm = cloudwatch.Alarm(
        scope,
        "LambdaDlqAlarm",
        alarm_name=settings.name("lambda-dlq-not-empty"),
        alarm_description="Step-function invocations failed before or outside Dagster's control",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
        ),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm
