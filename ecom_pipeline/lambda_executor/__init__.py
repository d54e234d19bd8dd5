"""The Lambda executor: each Dagster step runs as one AWS Lambda invocation (see executor.py)."""

from ecom_pipeline.lambda_executor.executor import lambda_executor

__all__ = ["lambda_executor"]
