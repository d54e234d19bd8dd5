"""Random credentials of the local stack, generated on the first `up` and kept under the state dir.

They must survive restarts (the PostgreSQL role and the Secrets Manager secrets are recreated from them),
and they are never printed: the file is mode 0600 and only its path appears in messages.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import asdict, dataclass
from pathlib import Path

_ALPHANUMERIC = string.ascii_letters + string.digits


def random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


@dataclass(frozen=True)
class LocalCredentials:
    ecom_db_password: str
    payments_api_key: str
    influx_token: str


def load_or_create(path: Path) -> LocalCredentials:
    """Read the stored credentials, generating (and persisting) any that are missing."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    generated = {
        "ecom_db_password": stored.get("ecom_db_password") or random_alphanumeric(32),
        "payments_api_key": stored.get("payments_api_key") or random_alphanumeric(48),
        "influx_token": stored.get("influx_token") or random_alphanumeric(64),
    }
    if generated != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(generated, handle)
        os.replace(tmp, path)
    return LocalCredentials(**generated)


def as_dict(credentials: LocalCredentials) -> dict[str, str]:
    return asdict(credentials)
