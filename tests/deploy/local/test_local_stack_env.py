"""stack.env, the bootstrapped AWS resources and the Dagster instance match docs/CONTRACTS.md."""

import json
import re
import string

import boto3
import psycopg2

from deploy.local.stack_config import REPO_ROOT, StackConfig
from deploy.local.stack_env import read_env_file, render_env_file


def contract_variables() -> set[str]:
    """Every variable named in the first column of the environment table of docs/CONTRACTS.md (the section's
    first table; the later ones list optional settings that stack.env leaves unset)."""
    text = (REPO_ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    in_table = False
    for line in section.splitlines():
        if line.startswith("|"):
            in_table = True
            if line.startswith("| `"):
                names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
        elif in_table:
            break
    return names


def test_stack_env_exports_every_contract_variable(stack_env):
    variables = read_env_file(StackConfig.from_env(stack_env.get("ECOM_STACK_DIR")).env_file)
    expected = contract_variables()
    assert len(expected) >= 28  # the parser found the table
    ports = {"ECOM_PG_PORT", "ECOM_MOTO_PORT", "ECOM_INFLUX_PORT", "ECOM_INFLUXD_PORT", "ECOM_API_PORT"}
    missing = sorted(name for name in expected | ports if not variables.get(name))
    assert missing == []
    assert variables["DAGSTER_PG_URL"].startswith("postgresql+psycopg2://dagster:dagster@127.0.0.1:")
    assert variables["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{variables['ECOM_MOTO_PORT']}"


def test_env_file_round_trips_values_that_need_quoting():
    variables = {"PLAIN": "abc", "SPACES": "a b", "QUOTES": 'it\'s "x"', "DOLLAR": "$HOME;rm"}
    path = REPO_ROOT / ".local" / "test-env-roundtrip.env"
    path.parent.mkdir(exist_ok=True)
    path.write_text(render_env_file(variables))
    try:
        assert read_env_file(path) == variables
    finally:
        path.unlink()


def test_rds_secret_holds_working_source_credentials(stack_env):
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=stack_env["RDS_SECRET_NAME"])["SecretString"]
    )
    assert set(secret) == {"username", "password", "host", "port", "dbname"}
    assert secret["dbname"] == "ecommerce_platform" and secret["username"] == "ecom"
    with (
        psycopg2.connect(
            host=secret["host"],
            port=secret["port"],
            user=secret["username"],
            password=secret["password"],
            dbname=secret["dbname"],
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT current_database(), current_user")
        assert cur.fetchone() == ("ecommerce_platform", "ecom")
    conn.close()
    assert secret["password"] in stack_env["ECOM_SOURCE_DSN"]
    with psycopg2.connect(stack_env["ECOM_SOURCE_DSN"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()


def test_api_key_secret_is_48_alphanumerics(stack_env):
    value = boto3.client("secretsmanager").get_secret_value(SecretId=stack_env["API_KEY_SECRET_NAME"])
    api_key = json.loads(value["SecretString"])["api_key"]
    assert len(api_key) == 48 and set(api_key) <= set(string.ascii_letters + string.digits)


def test_tables_buckets_queues_and_topic_exist(stack_env):
    dynamodb = boto3.client("dynamodb")
    uploads = dynamodb.describe_table(TableName=stack_env["UPLOAD_RECORDS_TABLE"])["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in uploads["KeySchema"]} == {
        ("upload_id", "HASH"),
        ("record_id", "RANGE"),
    }
    indexes = {i["IndexName"]: i["KeySchema"][0]["AttributeName"] for i in uploads["GlobalSecondaryIndexes"]}
    assert indexes == {"VendorIndex": "vendor_id", "StatusIndex": "status"}
    assert uploads["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    checkpoints = dynamodb.describe_table(TableName=stack_env["CHECKPOINT_TABLE"])["Table"]
    assert checkpoints["KeySchema"] == [{"AttributeName": "entity", "KeyType": "HASH"}]

    s3 = boto3.client("s3")
    for variable in (
        "LAKE_BUCKET",
        "UPLOADS_BUCKET",
        "SERIES_BUCKET",
        "IMPORTS_BUCKET",
        "DAGSTER_LOGS_BUCKET",
    ):
        s3.head_bucket(Bucket=stack_env[variable])
    sqs = boto3.client("sqs")
    for variable in ("UPLOAD_ERRORS_QUEUE_URL", "IMPORT_DLQ_URL", "LAMBDA_DLQ_URL"):
        assert (
            "QueueArn"
            in sqs.get_queue_attributes(QueueUrl=stack_env[variable], AttributeNames=["QueueArn"])[
                "Attributes"
            ]
        )
    topic = boto3.client("sns").get_topic_attributes(TopicArn=stack_env["NOTIFICATIONS_TOPIC_ARN"])
    assert topic["Attributes"]["TopicArn"] == stack_env["NOTIFICATIONS_TOPIC_ARN"]


def test_dagster_instance_uses_postgres_and_s3_compute_logs(stack_env):
    from dagster import DagsterInstance
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert instance.get_runs_count() >= 0  # the storage answers
