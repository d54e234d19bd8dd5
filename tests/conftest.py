"""Point every test at the local stack described by `.local/stack.env` (written by `make stack-up`)."""

import os
import subprocess
from pathlib import Path

import pytest

# Records the AWS calls pipeline code makes, for tests/deploy/cdk/test_iam_covers_recorded_calls.py.
pytest_plugins = ["tests.aws_calls"]

REPO_ROOT = Path(__file__).resolve().parents[1]
STACK_ENV = REPO_ROOT / ".local" / "stack.env"


def _load_stack_env() -> None:
    """Source the file with bash so quoting means what it means in a shell."""
    if not STACK_ENV.exists():
        return
    output = subprocess.run(
        ["bash", "-c", f"set -a; . '{STACK_ENV}'; env -0"], check=True, capture_output=True
    ).stdout
    for entry in output.split(b"\0"):
        if b"=" in entry:
            key, _, value = entry.decode().partition("=")
            os.environ.setdefault(key, value)


_load_stack_env()


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The stack's variables; fails (never skips) when the stack is not up."""
    if "AWS_ENDPOINT_URL" not in os.environ or "ECOM_SOURCE_DSN" not in os.environ:
        pytest.fail(f"local stack not configured: run `make stack-up` (expected {STACK_ENV})")
    return dict(os.environ)
