"""Create or update the Lambda executor's step functions in the local moto Lambda.

They mirror the deployed functions (deploy/cdk): one container-image function per size class from
LAMBDA_STEP_SIZES, command `step_handler.handler`, the pipeline's environment, async retries off (a retried
step would be a second attempt Dagster doesn't know about) and failures sent to the Lambda DLQ queue.
The image URI is a placeholder: the local invoke runs deploy/lambda/step_handler.py with the repo's Python.

    python -m deploy.local.lambda_functions            # every size for $ECOM_ENV
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from ecom_pipeline.constants import LAMBDA_STEP_HANDLER, LAMBDA_STEP_SIZES
from ecom_pipeline.lambda_executor.sizing import step_function_name

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("ecom_pipeline", "assets", "resources", "sensors", "deploy/lambda", "tests", "bench")
LOCAL_IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecom-pipeline-step:local"
ROLE_NAME = "ecom-pipeline-step-local"
# Variables a step needs inside the function (docs/CONTRACTS.md); AWS_* are the runtime's own.
STEP_ENVIRONMENT_NAMES = (
    "ECOM_ENV",
    "ECOM_STEP_EXECUTOR",
    "DAGSTER_HOME",
    "DAGSTER_PG_URL",
    "LAKE_BUCKET",
    "UPLOADS_BUCKET",
    "SERIES_BUCKET",
    "IMPORTS_BUCKET",
    "DAGSTER_LOGS_BUCKET",
    "CHECKPOINT_TABLE",
    "UPLOAD_RECORDS_TABLE",
    "UPLOAD_ERRORS_QUEUE_URL",
    "IMPORT_DLQ_URL",
    "LAMBDA_DLQ_URL",
    "NOTIFICATIONS_TOPIC_ARN",
    "RDS_SECRET_NAME",
    "API_KEY_SECRET_NAME",
    "INFLUXDB_URL",
    "INFLUXDB_ORG",
    "INFLUXDB_BUCKET",
    "INFLUXDB_TOKEN_SECRET_NAME",
    "PAYMENTS_API_URL",
    "SHIPMENTS_API_URL",
)
# The instance's storage and compute-log modules cost ~1.4 s to import: do it in the init phase too.
INSTANCE_MODULES = "dagster_postgres,dagster_aws.s3.compute_log_manager"
DEFAULT_HANDLER_ENVIRONMENT = {
    "ECOM_LAMBDA_PRELOAD_MODULES": f"{INSTANCE_MODULES},ecom_pipeline.definitions",
    "ECOM_LAMBDA_CANCEL_POLL_SECONDS": "2",
}


def local_code_stamp(root: Path = REPO_ROOT) -> str:
    """A digest of the Python sources' names and mtimes.

    On AWS a new image is a new function version and new environments; locally the code changes in place,
    and a warm worker would keep running the modules it imported. Putting this stamp in the environment
    changes the function's configuration, which retires the old workers.
    """
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(f"{path.relative_to(root)}:{path.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def step_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {name: os.environ[name] for name in STEP_ENVIRONMENT_NAMES if os.environ.get(name)}
    env.update(DEFAULT_HANDLER_ENVIRONMENT)
    env["ECOM_LOCAL_CODE_STAMP"] = local_code_stamp()
    env.update(extra or {})
    return env


def ensure_role(iam: Any, name: str = ROLE_NAME) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchEntity":
            raise
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except ClientError as err:  # created concurrently by another process
        if err.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def ensure_step_function(
    name: str,
    memory_mb: int,
    timeout_s: int,
    environment: dict[str, str],
    handler: str = LAMBDA_STEP_HANDLER,
    failure_queue_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> str:
    """Create the function, or bring an existing one to this configuration; returns its ARN."""
    session = session or boto3.session.Session()
    client = session.client("lambda")
    config: dict[str, Any] = {
        "FunctionName": name,
        "Role": ensure_role(session.client("iam")),
        "MemorySize": memory_mb,
        "Timeout": timeout_s,
        "Environment": {"Variables": environment},
        "ImageConfig": {"Command": [handler]},
        "TracingConfig": {"Mode": "Active"},
    }
    try:
        arn = client.get_function_configuration(FunctionName=name)["FunctionArn"]
        client.update_function_configuration(**config)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        arn = client.create_function(
            **config,
            PackageType="Image",
            Code={"ImageUri": LOCAL_IMAGE_URI},
            Description="ecom-pipeline Lambda executor step function",
        )["FunctionArn"]
    invoke_config: dict[str, Any] = {"FunctionName": name, "MaximumRetryAttempts": 0}
    if failure_queue_url:
        destination = queue_arn(session.client("sqs"), failure_queue_url)
        invoke_config["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
    client.put_function_event_invoke_config(**invoke_config)
    return arn


def ensure_step_functions(environment_suffix: str | None = None) -> dict[str, str]:
    """Every size class's function for the environment; returns name -> ARN."""
    suffix = environment_suffix or os.environ.get("ECOM_ENV", "local")
    env = step_environment()
    arns = {}
    for size, limits in LAMBDA_STEP_SIZES.items():
        name = step_function_name(suffix, size)
        arns[name] = ensure_step_function(
            name,
            memory_mb=limits["memory_mb"],
            timeout_s=limits["timeout_s"],
            environment=env,
            failure_queue_url=os.environ.get("LAMBDA_DLQ_URL"),
        )
    return arns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=None, help="environment suffix (default: $ECOM_ENV)")
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("AWS_ENDPOINT_URL is not set: source .local/stack.env first", file=sys.stderr)
        return 2
    for name, arn in ensure_step_functions(args.env).items():
        print(f"{name}\t{arn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
