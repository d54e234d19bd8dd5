"""Secrets Manager with a time-bounded in-process cache (seed 003 caches credentials for one hour)."""

import json
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from pydantic import Field

from ecom_pipeline.errors import ConfigurationError, ServiceUnavailableError
from resources.aws_clients import AwsClientResource

_cache: dict[tuple[str | None, str | None, str], tuple[float, str]] = {}
_cache_lock = threading.Lock()


class SecretsManagerResource(AwsClientResource):
    """Reads secrets once per `cache_ttl_seconds` per process, so warm Lambdas do not call AWS per step."""

    cache_ttl_seconds: int = Field(default=3600, description="How long a fetched secret is reused.")

    def get_string(self, name: str) -> str:
        key = (self.region_name, self.endpoint_url, name)
        now = time.monotonic()
        with _cache_lock:
            cached = _cache.get(key)
        # The entry keeps its fetch time, so each resource applies its own TTL to the shared cache.
        if cached is not None and now - cached[0] < self.cache_ttl_seconds:
            return cached[1]
        value = self._fetch(name)
        with _cache_lock:
            _cache[key] = (now, value)
        return value

    def get_json(self, name: str) -> dict[str, Any]:
        try:
            value = json.loads(self.get_string(name))
        except json.JSONDecodeError:
            # The decoder's message quotes the document; keep the value out of the error.
            raise ConfigurationError(f"secret {name!r} is not valid JSON") from None
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {name!r} must hold a JSON object")
        return value

    def invalidate(self, name: str) -> None:
        """Forget a cached secret, e.g. after a credential was rejected (rotation)."""
        with _cache_lock:
            _cache.pop((self.region_name, self.endpoint_url, name), None)

    def _fetch(self, name: str) -> str:
        try:
            response = self.client("secretsmanager").get_secret_value(SecretId=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise ConfigurationError(f"secret {name!r} not found in Secrets Manager") from None
            if code in ("AccessDeniedException", "UnrecognizedClientException"):
                raise ConfigurationError(f"not allowed to read secret {name!r} ({code})") from None
            raise ServiceUnavailableError(f"Secrets Manager failed reading {name!r}: {code}") from None
        except EndpointConnectionError as exc:
            raise ConfigurationError(
                f"Secrets Manager unreachable at {exc.kwargs.get('endpoint_url')}"
            ) from None
        except BotoCoreError as exc:
            raise ServiceUnavailableError(
                f"Secrets Manager failed reading {name!r}: {type(exc).__name__}"
            ) from None
        if "SecretString" not in response:
            raise ConfigurationError(f"secret {name!r} has no SecretString")
        return response["SecretString"]
