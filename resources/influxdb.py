"""InfluxDB writes (v2 API, influxdb-client) and InfluxQL reads (v1-compatible `/query`, same token).

Production is InfluxDB 2.x / Timestream for InfluxDB; locally influxd 1.6 behind the token proxy.
"""

import atexit
import threading
import time
from typing import Any

import requests
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from pydantic import Field
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from ecom_pipeline.errors import BadRequestError, ConfigurationError, ServiceUnavailableError
from resources.deployment_only import DeploymentOnlyFields
from resources.secrets import SecretsManagerResource

_clients: dict[tuple[str, str, str, int], InfluxDBClient] = {}
_clients_lock = threading.Lock()


@atexit.register
def _close_clients() -> None:
    # Closing before interpreter shutdown stops influxdb-client's finalizers from failing noisily.
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


class InfluxDBResource(DeploymentOnlyFields):
    """Synchronous writes; batching and retry policy belong to the pipeline, so the client never retries."""

    DEPLOYMENT_ONLY = frozenset({"url", "token_secret_name"})  # where the token goes, and which token

    url: str = Field(description="InfluxDB base URL, e.g. https://...:8086")
    org: str
    bucket: str
    token: str | None = Field(default=None, description="API token; prefer token_secret_name.")
    token_secret_name: str | None = Field(default=None, description='Secret holding {"token": "..."}.')
    secrets: SecretsManagerResource | None = None
    timeout_ms: int = 30_000

    def _token(self) -> str:
        if self.token:
            return self.token
        if self.token_secret_name:
            if self.secrets is None:
                raise ConfigurationError(
                    "InfluxDB token_secret_name is set but no secrets resource is configured"
                )
            token = self.secrets.get_json(self.token_secret_name).get("token")
            if not token:
                raise ConfigurationError(f"secret {self.token_secret_name!r} has no 'token' key")
            return token
        raise ConfigurationError(
            "InfluxDB token not configured: set INFLUXDB_TOKEN or INFLUXDB_TOKEN_SECRET_NAME"
        )

    def _client(self) -> InfluxDBClient:
        token = self._token()
        key = (self.url, self.org, token, self.timeout_ms)
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = InfluxDBClient(
                    url=self.url, token=token, org=self.org, timeout=self.timeout_ms, retries=False
                )
                _clients[key] = client
            return client

    def health(self) -> dict[str, Any]:
        """Ping the server (no token needed) and time it, as the seed's pre-write health check."""
        started = time.perf_counter()
        try:
            response = requests.get(f"{self.url.rstrip('/')}/ping", timeout=self.timeout_ms / 1000)
            healthy = response.status_code in (200, 204)
        except requests.RequestException:
            healthy = False
        return {
            "status": "healthy" if healthy else "unhealthy",
            "response_time_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def check_auth(self) -> None:
        """Fail fast on a wrong token: an empty write is accepted with 204 only when the token is valid."""
        response = self._authorized(
            "POST",
            "/api/v2/write",
            params={"org": self.org, "bucket": self.bucket, "precision": "ns"},
            data=b"",
        )
        if response.status_code >= 500:
            raise ServiceUnavailableError(f"InfluxDB at {self.url} answered HTTP {response.status_code}")

    def _authorized(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with the token: unreachable -> ServiceUnavailableError, 401/403 -> ConfigurationError."""
        try:
            response = requests.request(
                method,
                f"{self.url.rstrip('/')}{path}",
                headers={"Authorization": f"Token {self._token()}"},
                timeout=self.timeout_ms / 1000,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailableError(
                f"InfluxDB unreachable at {self.url}: {type(exc).__name__}"
            ) from None
        if response.status_code in (401, 403):
            raise ConfigurationError(
                f"InfluxDB at {self.url} rejected the token (HTTP {response.status_code})"
            )
        return response

    def query(self, influxql: str, database: str | None = None) -> dict[str, Any]:
        """Run InfluxQL on `/query` (db = bucket; on 2.x through its DBRP mapping), timestamps in ns."""
        response = self._authorized(
            "GET", "/query", params={"db": database or self.bucket, "q": influxql, "epoch": "ns"}
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise ServiceUnavailableError(
                f"InfluxDB query failed with HTTP {response.status_code}: {response.text[:200]}"
            )
        if response.status_code != 200:
            raise BadRequestError(
                f"InfluxDB refused the query (HTTP {response.status_code}): {response.text[:500]}"
            )
        return response.json()

    def write_lines(self, lines: bytes | str | list[str], bucket: str | None = None) -> None:
        """Write line protocol (nanosecond precision); maps failures to the resource error types."""
        write_api = self._client().write_api(write_options=SYNCHRONOUS)
        try:
            write_api.write(
                bucket=bucket or self.bucket, org=self.org, record=lines, write_precision=WritePrecision.NS
            )
        except ApiException as exc:
            body = (exc.body or "").strip() if isinstance(exc.body, str) else str(exc.body or "")
            if exc.status in (400, 422):
                raise BadRequestError(f"InfluxDB rejected the write: {body[:500]}") from None
            if exc.status in (401, 403):
                raise ConfigurationError(
                    f"InfluxDB at {self.url} rejected the token (HTTP {exc.status})"
                ) from None
            raise ServiceUnavailableError(
                f"InfluxDB write failed with HTTP {exc.status}: {body[:200]}"
            ) from None
        except (Urllib3HTTPError, OSError) as exc:
            raise ServiceUnavailableError(
                f"InfluxDB unreachable at {self.url}: {type(exc).__name__}"
            ) from None
