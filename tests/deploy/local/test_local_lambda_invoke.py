"""Lambda through the real Invoke API of the shared moto server (handlers run in local workers)."""

import base64
import io
import json
import sys
import time
import uuid
import zipfile

import boto3
import pytest

from deploy.local.process_control import is_alive
from deploy.local.stack_config import REPO_ROOT

HANDLER_SOURCE = """
import json, os, time
import boto3

def handler(event, context):
    print("handling", json.dumps(event))
    action = event.get("action")
    if action == "fail":
        raise ValueError("bad input: " + event.get("why", "?"))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "write":
        boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["key"], Body=b"written by lambda")
    return {
        "echo": event,
        "pid": os.getpid(),
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "log_group": context.log_group_name,
        "setting": os.environ.get("MY_SETTING"),
    }
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def aws(stack_env):
    clients = {name: boto3.client(name) for name in ("lambda", "iam", "s3", "sqs", "logs")}
    role_name = f"test-lambda-role-{uuid.uuid4().hex[:8]}"
    clients["role_arn"] = clients["iam"].create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    yield clients
    clients["iam"].delete_role(RoleName=role_name)


@pytest.fixture
def zip_function(aws):
    created = []

    def create(timeout: int = 5, **extra) -> str:
        name = f"test-fn-{uuid.uuid4().hex[:10]}"
        aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=aws["role_arn"],
            Handler="app.handler",
            Code={"ZipFile": _zip(HANDLER_SOURCE)},
            Timeout=timeout,
            Environment={"Variables": {"MY_SETTING": "from-function-config"}},
            **extra,
        )
        created.append(name)
        return name

    yield create
    for name in created:
        aws["lambda"].delete_function(FunctionName=name)


def _invoke(aws, name: str, event: dict, **kwargs) -> tuple[dict, dict]:
    response = aws["lambda"].invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


def test_request_response_returns_payload_and_reuses_the_warm_worker(aws, zip_function):
    name = zip_function()
    first, body = _invoke(aws, name, {"n": 1}, LogType="Tail")
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert body["echo"] == {"n": 1}
    assert body["function_name"] == name and body["setting"] == "from-function-config"
    assert body["log_group"] == f"/aws/lambda/{name}"
    assert body["arn"].startswith("arn:aws:lambda:us-east-1:") and name in body["arn"]
    assert 0 < body["remaining_ms"] <= 5000
    tail = base64.b64decode(first["LogResult"]).decode()
    assert 'handling {"n": 1}' in tail and f"REPORT RequestId: {body['request_id']}" in tail

    started = time.perf_counter()
    _, second = _invoke(aws, name, {"n": 2})
    warm_seconds = time.perf_counter() - started
    assert second["pid"] == body["pid"], "a warm invoke must reuse the execution environment"
    assert second["request_id"] != body["request_id"]
    assert warm_seconds < 1.0


def test_deleting_a_function_stops_its_idle_worker(aws):
    name = f"test-fn-{uuid.uuid4().hex[:10]}"
    aws["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=aws["role_arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip(HANDLER_SOURCE)},
    )
    pid = _invoke(aws, name, {})[1]["pid"]
    assert is_alive(pid)
    aws["lambda"].delete_function(FunctionName=name)
    deadline = time.monotonic() + 10
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_alive(pid)


def test_raising_handler_returns_unhandled_function_error(aws, zip_function):
    response, body = _invoke(aws, zip_function(), {"action": "fail", "why": "row 7"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input: row 7"
    assert any("app.py" in frame for frame in body["stackTrace"])
    assert not any("lambda_subprocess_runtime" in frame for frame in body["stackTrace"])


def test_missing_module_and_unserializable_result_use_aws_runtime_error_types(aws):
    name = f"test-fn-{uuid.uuid4().hex[:10]}"
    source = "import datetime\ndef handler(event, context):\n    return {'at': datetime.datetime.now()}\n"
    aws["lambda"].create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=aws["role_arn"],
        Handler="nowhere.handler",
        Code={"ZipFile": _zip(source)},
    )
    try:
        response, body = _invoke(aws, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Runtime.ImportModuleError"
        assert "Unable to import module 'nowhere'" in body["errorMessage"]
        aws["lambda"].update_function_configuration(FunctionName=name, Handler="app.handler")
        response, body = _invoke(aws, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Runtime.MarshalError"
        assert "not JSON serializable" in body["errorMessage"]
    finally:
        aws["lambda"].delete_function(FunctionName=name)


def test_timeout_kills_the_handler_and_answers_aws_timeout_error(aws, zip_function):
    name = zip_function(timeout=1)
    started = time.perf_counter()
    response, body = _invoke(aws, name, {"action": "sleep", "seconds": 30})
    assert time.perf_counter() - started < 10
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    _, after = _invoke(aws, name, {"n": 3})  # a fresh worker replaces the killed one
    assert after["echo"] == {"n": 3}


def test_event_invocation_returns_202_and_its_effect_appears(aws, zip_function):
    bucket = f"test-lambda-event-{uuid.uuid4().hex[:10]}"
    aws["s3"].create_bucket(Bucket=bucket)
    name = zip_function()
    started = time.perf_counter()
    response = aws["lambda"].invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"action": "write", "bucket": bucket, "key": "out.txt"}).encode(),
    )
    assert response["StatusCode"] == 202
    assert time.perf_counter() - started < 2, "Event must return before the handler runs"
    body = _poll(lambda: aws["s3"].get_object(Bucket=bucket, Key="out.txt")["Body"].read())
    assert body == b"written by lambda"
    aws["s3"].delete_object(Bucket=bucket, Key="out.txt")
    aws["s3"].delete_bucket(Bucket=bucket)


def test_failed_event_goes_to_dead_letter_queue_and_failure_destination(aws, zip_function):
    sqs = aws["sqs"]
    dlq_url = sqs.create_queue(QueueName=f"test-dlq-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    dest_url = sqs.create_queue(QueueName=f"test-dest-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for url in (dlq_url, dest_url)
    }
    name = zip_function(DeadLetterConfig={"TargetArn": arn[dlq_url]})
    config = aws["lambda"].get_function_configuration(FunctionName=name)
    assert config["DeadLetterConfig"] == {"TargetArn": arn[dlq_url]}
    aws["lambda"].put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn[dest_url]}},
    )
    event = {"action": "fail", "why": "async"}
    assert (
        aws["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))[
            "StatusCode"
        ]
        == 202
    )

    dead_letter = _receive(sqs, dlq_url)
    assert json.loads(dead_letter["Body"]) == event
    assert dead_letter["MessageAttributes"]["ErrorMessage"]["StringValue"] == "bad input: async"
    record = json.loads(_receive(sqs, dest_url)["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1, "MaximumRetryAttempts=0 means one attempt"
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    for url in (dlq_url, dest_url):
        sqs.delete_queue(QueueUrl=url)


def test_failed_event_is_retried_maximum_retry_attempts_times(aws, zip_function):
    sqs = aws["sqs"]
    dest_url = sqs.create_queue(QueueName=f"test-dest-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    dest_arn = sqs.get_queue_attributes(QueueUrl=dest_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = zip_function()
    aws["lambda"].put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    aws["lambda"].put_function_event_invoke_config(  # replaces the first configuration, as on AWS
        FunctionName=name, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": dest_arn}}
    )
    aws["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=b'{"action": "fail"}')
    record = json.loads(_receive(sqs, dest_url)["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 2
    sqs.delete_queue(QueueUrl=dest_url)


def test_handler_output_reaches_the_log_file_and_cloudwatch_logs(aws, zip_function, stack_env):
    name = zip_function()
    marker = uuid.uuid4().hex
    _invoke(aws, name, {"marker": marker})
    log_file = REPO_ROOT / ".local" / "logs" / "lambda" / f"{name}.log"
    if stack_env.get("ECOM_STACK_DIR"):
        log_file = f"{stack_env['ECOM_STACK_DIR']}/logs/lambda/{name}.log"
    assert marker in open(log_file).read()
    events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert any(marker in event["message"] for event in events)


def test_image_function_runs_its_command_with_the_project_python(aws):
    name = f"test-image-fn-{uuid.uuid4().hex[:10]}"
    aws["lambda"].create_function(
        FunctionName=name,
        PackageType="Image",
        Role=aws["role_arn"],
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecom-pipeline:local"},
        ImageConfig={"Command": ["tests.deploy.local.lambda_image_fixture.handler"]},
        MemorySize=512,
        Timeout=30,
        Environment={"Variables": {"STEP_SETTING": "configured"}},
    )
    try:
        response, body = _invoke(aws, name, {"step": "first"})
        assert "FunctionError" not in response, body
        assert body["event"] == {"step": "first"}
        assert body["function_name"] == name and str(body["memory_limit_in_mb"]) == "512"
        assert body["task_root"] == str(REPO_ROOT / "deploy" / "lambda")
        assert body["deploy_lambda_on_path"] is True
        assert body["python_prefix"] == sys.prefix, "runs with the project venv"
        assert body["custom_env"] == "configured"
        assert body["endpoint"] == aws["lambda"].meta.endpoint_url.rstrip("/")
        aws["lambda"].update_function_configuration(
            FunctionName=name,
            ImageConfig={"Command": ["tests.deploy.local.lambda_image_fixture.other_handler"]},
        )
        assert _invoke(aws, name, {})[1] == {"handler": "other_handler"}, "an updated Command takes effect"
    finally:
        aws["lambda"].delete_function(FunctionName=name)


def _poll(read, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _receive(sqs, queue_url: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if messages:
            return messages[0]
    raise AssertionError(f"no message on {queue_url} within {timeout}s")
