"""`python -m deploy.local.source_api --port N [--ignore-since shipments] [--fail-first N]`.

Reads the database from `ECOM_SOURCE_DSN` and the key from the Secrets Manager secret named by
`API_KEY_SECRET_NAME` (JSON `{"api_key": ...}`; boto3 honours `AWS_ENDPOINT_URL`, i.e. the moto server).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deploy.local.source_api.records import DEFAULT_SCHEMA, ENDPOINTS
from deploy.local.source_api.server import SourceApiServer

logger = logging.getLogger("deploy.local.source_api")


def fetch_api_key(secret_name: str, wait_seconds: float) -> str:
    """The `api_key` of the secret, retried while the AWS endpoint comes up; the value is never logged."""
    deadline = time.monotonic() + wait_seconds
    client = boto3.client("secretsmanager")
    while True:
        try:
            secret = json.loads(client.get_secret_value(SecretId=secret_name)["SecretString"])
            break
        except (ClientError, BotoCoreError) as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(f"cannot read secret {secret_name!r}: {type(exc).__name__}") from None
            time.sleep(1)
        except (json.JSONDecodeError, KeyError):
            raise SystemExit(f"secret {secret_name!r} is not JSON with a SecretString") from None
    api_key = secret.get("api_key") if isinstance(secret, dict) else None
    if not api_key:
        raise SystemExit(f"secret {secret_name!r} has no 'api_key' key")
    return api_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.source_api", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ECOM_API_PORT", "58090")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--ignore-since",
        action="append",
        default=[],
        choices=ENDPOINTS,
        help="serve every record of this endpoint whatever `since` says (repeatable)",
    )
    parser.add_argument(
        "--fail-first", type=int, default=0, help="answer the first N data requests with 503/429"
    )
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema holding payments and shipments")
    parser.add_argument(
        "--secret-wait", type=float, default=30.0, help="seconds to retry reading the API key"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    dsn = os.environ.get("ECOM_SOURCE_DSN")
    secret_name = os.environ.get("API_KEY_SECRET_NAME")
    if not dsn or not secret_name:
        raise SystemExit("ECOM_SOURCE_DSN and API_KEY_SECRET_NAME must be set (see .local/stack.env)")
    api_key = fetch_api_key(secret_name, args.secret_wait)
    server = SourceApiServer(
        (args.host, args.port),
        dsn,
        api_key,
        ignore_since=args.ignore_since,
        fail_first=args.fail_first,
        schema=args.schema,
    )
    logger.info(
        "serving /payments and /shipments on %s (ignore_since=%s, fail_first=%d)",
        server.base_url,
        sorted(server.ignore_since),
        args.fail_first,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
