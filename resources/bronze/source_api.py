"""The payments and shipments HTTP APIs: `GET {endpoint}?since=...` with an API key from Secrets Manager.

Nothing here can hang: each attempt has a connect timeout and a deadline for the whole response (a server
that trickles bytes would defeat a per-read timeout alone), attempts are bounded, and the pager stops with an
error after `max_pages` pages or when the API hands back a token it already gave (a pagination loop).
"""

import json
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import requests
from pydantic import Field

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.deployment_only import DeploymentOnlyFields
from resources.secrets import SecretsManagerResource

ApiEndpoint = Literal["payments", "shipments"]
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SourceApiResource(DeploymentOnlyFields):
    """Paginated, retried reads; filters `since`/`until` client-side because not every server honours `since`."""

    DEPLOYMENT_ONLY = frozenset({"payments_url", "shipments_url", "api_key_secret_name"})  # the key's way out

    payments_url: str
    shipments_url: str
    api_key_secret_name: str = Field(description='Secret holding {"api_key": "..."}.')
    secrets: SecretsManagerResource
    page_size: int = 1000
    timeout_seconds: float = Field(default=30.0, description="Deadline for one whole response, per attempt.")
    connect_timeout_seconds: float = 5.0
    max_pages: int = Field(default=10_000, description="Pages one fetch may read before it fails as a loop.")
    max_retries: int = 5
    backoff_base_seconds: float = 0.5

    def _url(self, endpoint: ApiEndpoint) -> str:
        return {"payments": self.payments_url, "shipments": self.shipments_url}[endpoint]

    def fetch_since(
        self, endpoint: ApiEndpoint, since: datetime, until: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of records with since <= updated_at (< until); raises when the API stays unavailable."""
        api_key = self.secrets.get_json(self.api_key_secret_name).get("api_key")
        if not api_key:
            raise ConfigurationError(f"secret {self.api_key_secret_name!r} has no 'api_key' key")
        url = self._url(endpoint)
        params: dict[str, Any] = {"since": since.isoformat(), "limit": self.page_size}
        seen_tokens: set[str] = set()
        with requests.Session() as session:
            session.headers["x-api-key"] = api_key
            for _page in range(self.max_pages):
                body = self._get(session, url, params)
                records = [
                    r
                    for r in body.get("data", [])
                    if _parse_timestamp(r["updated_at"]) >= since
                    and (until is None or _parse_timestamp(r["updated_at"]) < until)
                ]
                if records:
                    yield records
                token = body.get("next_page_token")
                if not token:
                    return
                if token in seen_tokens:
                    raise ServiceUnavailableError(
                        f"{url} returned page token {token!r} twice (pagination loop)"
                    )
                seen_tokens.add(token)
                params = {**params, "page_token": token}
        raise ServiceUnavailableError(
            f"{url} still had a next page after max_pages={self.max_pages} pages of {self.page_size} "
            f"(since {since.isoformat()}); raise max_pages if the window really is that large"
        )

    def _get(self, session: requests.Session, url: str, params: dict[str, Any]) -> dict[str, Any]:
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            try:
                response, content = self._get_within_deadline(session, url, params)
            except requests.RequestException as exc:
                last_problem = type(exc).__name__
            except TimeoutError:
                last_problem = f"no complete response within {self.timeout_seconds:g}s"
            else:
                if response.status_code in (401, 403):
                    raise ConfigurationError(f"{url} rejected the API key (HTTP {response.status_code})")
                if response.status_code not in _RETRYABLE_STATUS:
                    response.raise_for_status()
                    return json.loads(content)
                last_problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
                if retry_after and retry_after.isdigit() and attempt < self.max_retries:
                    time.sleep(min(float(retry_after), 30.0))
                    continue
            if attempt < self.max_retries:
                # Exponential backoff with jitter so parallel entity steps do not retry in lockstep.
                time.sleep(self.backoff_base_seconds * 2**attempt * (0.5 + random.random() / 2))
        raise ServiceUnavailableError(f"{url} unavailable after {self.max_retries} retries: {last_problem}")

    def _get_within_deadline(
        self, session: requests.Session, url: str, params: dict[str, Any]
    ) -> tuple[requests.Response, bytes]:
        """One attempt; TimeoutError when the whole response takes longer than `timeout_seconds` (checked at
        each 8 KiB piece; the socket's read timeout bounds the wait for any one piece)."""
        deadline = time.monotonic() + self.timeout_seconds
        read_timeout = max(0.1, self.timeout_seconds)
        with session.get(
            url, params=params, timeout=(self.connect_timeout_seconds, read_timeout), stream=True
        ) as response:
            chunks: list[bytes] = []
            for chunk in response.iter_content(chunk_size=8192):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError(url)
            return response, b"".join(chunks)
