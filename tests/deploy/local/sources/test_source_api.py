"""The local payments/shipments API over a seeded sandbox schema, spoken to over real HTTP."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import requests

from deploy.local.source_api import serve_in_thread
from tests.deploy.local.sources.source_sandbox import Sandbox, source_sandbox_fixture  # noqa: F401 (fixture)

API_KEY = "k" * 20 + uuid.uuid4().hex  # alphanumeric, >= 20 characters, like the seed's keys
SINCE = "2026-11-15T00:00:00Z"
REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(name="api")
def api_fixture(source_sandbox: Sandbox) -> Iterator[str]:
    server, base_url = serve_in_thread(source_sandbox.dsn, API_KEY, schema=source_sandbox.schema)
    yield base_url
    server.shutdown()
    server.server_close()


_session = requests.Session()


def _get(url: str, key: str | None = API_KEY, **params) -> requests.Response:
    return _session.get(url, params=params, headers={"x-api-key": key} if key else {}, timeout=10)


def _walk(url: str, **params) -> list[dict]:
    records, token = [], None
    while True:
        body = _get(url, **params, **({"page_token": token} if token else {})).json()
        records += body["data"]
        token = body["next_page_token"]
        if token is None:
            return records


def _count(sandbox: Sandbox, table: str, since: str | None = None) -> int:
    where = " WHERE updated_at >= %s" if since else ""
    return sandbox.query(f"SELECT count(*) FROM {table}{where}", (since,) if since else ())[0][0]


def test_health_and_unknown_paths(api):
    assert requests.get(f"{api}/health", timeout=5).status_code == 200
    assert _get(f"{api}/refunds").status_code == 404


@pytest.mark.parametrize("key", [None, "wrong-key", API_KEY[:-1]])
def test_a_bad_key_is_401(api, key):
    response = _get(f"{api}/payments", key=key)
    assert response.status_code == 401
    assert API_KEY not in response.text


def test_since_filters_and_records_are_json_friendly(api, source_sandbox: Sandbox):
    records = _walk(f"{api}/payments", since=SINCE, limit=1000)
    assert len(records) == _count(source_sandbox, "payments", SINCE) > 0
    since = datetime.fromisoformat(SINCE)
    assert all(datetime.fromisoformat(r["updated_at"]) >= since for r in records)
    first = records[0]
    assert isinstance(first["amount"], str) and first["amount"].count(".") == 1
    assert first["updated_at"].endswith("Z") and first["created_at"].endswith("Z")
    assert isinstance(first["order_id"], int)


def test_since_with_an_offset_and_a_naive_since(api, source_sandbox: Sandbox):
    expected = _count(source_sandbox, "shipments", SINCE)
    assert len(_walk(f"{api}/shipments", since="2026-11-15T01:00:00+01:00", limit=1000)) == expected
    assert len(_walk(f"{api}/shipments", since="2026-11-15T00:00:00", limit=1000)) == expected


def test_pages_cover_every_record_once_in_order(api, source_sandbox: Sandbox):
    # small pages over many equal timestamps: the keyset must neither skip nor repeat within a tie
    records = _walk(f"{api}/shipments", since="2026-11-12T00:00:00Z", limit=37)
    keys = [(r["updated_at"], r["id"]) for r in records]
    assert len(keys) == len(set(keys)) == _count(source_sandbox, "shipments", "2026-11-12T00:00:00Z")
    parsed = [(datetime.fromisoformat(u), i) for u, i in keys]
    assert parsed == sorted(parsed)
    ties = len(parsed) - len({u for u, _ in parsed})
    assert ties > 0


def test_bad_parameters_are_400(api):
    for params in ({"limit": "0"}, {"limit": "lots"}, {"since": "yesterday"}, {"page_token": "not-a-token"}):
        response = _get(f"{api}/payments", **params)
        assert response.status_code == 400, params
        assert response.json()["message"]


def test_ignore_since_serves_everything_for_that_endpoint_only(source_sandbox: Sandbox):
    server, url = serve_in_thread(
        source_sandbox.dsn, API_KEY, schema=source_sandbox.schema, ignore_since=["shipments"]
    )
    try:
        shipments = _walk(f"{url}/shipments", since=SINCE, limit=1000)
        payments = _walk(f"{url}/payments", since=SINCE, limit=1000)
    finally:
        server.shutdown()
        server.server_close()
    assert len(shipments) == _count(source_sandbox, "shipments") > _count(source_sandbox, "shipments", SINCE)
    assert len(payments) == _count(source_sandbox, "payments", SINCE)


def test_fail_first_answers_503_and_429_then_succeeds(source_sandbox: Sandbox):
    server, url = serve_in_thread(source_sandbox.dsn, API_KEY, schema=source_sandbox.schema, fail_first=3)
    try:
        assert requests.get(f"{url}/health", timeout=5).status_code == 200  # health is never failed
        answers = [_get(f"{url}/payments", since=SINCE, limit=5) for _ in range(4)]
    finally:
        server.shutdown()
        server.server_close()
    assert [a.status_code for a in answers] == [503, 429, 503, 200]
    assert answers[1].headers["Retry-After"] == "0"
    assert len(answers[3].json()["data"]) == 5
    assert server.stats["injected_failures"] == 3 and server.stats["payments"] == 1


def test_unknown_ignore_since_endpoint_is_refused(source_sandbox: Sandbox):
    with pytest.raises(ValueError, match="unknown endpoints"):
        serve_in_thread(source_sandbox.dsn, API_KEY, ignore_since=["refunds"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_reads_the_key_from_secrets_manager(source_sandbox: Sandbox):
    """`python -m deploy.local.source_api` as the stack starts it, with its key in (moto's) Secrets Manager."""
    secrets = boto3.client("secretsmanager")
    name = f"test-source-api-key-{uuid.uuid4().hex[:10]}"
    secrets.create_secret(Name=name, SecretString=f'{{"api_key": "{API_KEY}"}}')
    port = _free_port()
    env = {**os.environ, "API_KEY_SECRET_NAME": name}
    argv = [
        sys.executable,
        "-m",
        "deploy.local.source_api",
        "--port",
        str(port),
        "--schema",
        source_sandbox.schema,
    ]
    process = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/payments"
        assert _get(url, key="wrong").status_code == 401
        page = _get(url, since=SINCE, limit=3)
        assert page.status_code == 200 and len(page.json()["data"]) == 3
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert API_KEY not in output  # the key is never logged
    assert "GET /payments" in output


def test_since_is_inclusive_at_a_shared_timestamp(api, source_sandbox: Sandbox):
    ((moment, ties),) = source_sandbox.query(
        "SELECT updated_at, count(*) FROM payments GROUP BY updated_at HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 1"
    )
    since = moment.astimezone(UTC).isoformat()
    records = _walk(f"{api}/payments", since=since, limit=1000)
    at_boundary = [r for r in records if datetime.fromisoformat(r["updated_at"]) == moment]
    assert len(at_boundary) == ties > 1


def test_a_missing_table_is_503_with_a_hint(source_sandbox: Sandbox):
    server, url = serve_in_thread(source_sandbox.dsn, API_KEY, schema=f"{source_sandbox.schema}_absent")
    try:
        response = _get(f"{url}/payments")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 503
    assert "does not exist" in response.json()["message"] and "make seed" in response.json()["message"]
