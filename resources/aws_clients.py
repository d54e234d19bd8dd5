"""boto3 client construction shared by every AWS resource.

Region and endpoint left unset fall through to boto3's own resolution (`AWS_DEFAULT_REGION`,
`AWS_ENDPOINT_URL`), so the same code runs against the local moto server and against AWS. Every client
has explicit connect and read timeouts, so a service that accepts a connection and never answers fails the
call (after botocore's retries) instead of holding the step until the function times out.
"""

import os
import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from dagster import ConfigurableResource
from pydantic import Field

from resources.s3_objects import object_link

_client_lock = threading.Lock()


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    """One session for every client: a session parses botocore's endpoint and service data once, and a new
    session per client re-parsed it each time (about 70 ms a client, paid again by every run's process)."""
    return boto3.session.Session()


@lru_cache(maxsize=64)
def _cached_client(
    service: str,
    region_name: str | None,
    endpoint_url: str | None,
    max_attempts: int,
    parameter_validation: bool,
    max_pool_connections: int,
    connect_timeout: float,
    read_timeout: float,
) -> Any:
    # A session is not thread-safe while it builds clients; the built client is.
    with _client_lock:
        return _session().client(
            service,
            region_name=region_name,
            endpoint_url=endpoint_url,
            config=Config(
                retries={"max_attempts": max_attempts, "mode": "standard"},
                parameter_validation=parameter_validation,
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
        )


@lru_cache(maxsize=16)
def _cached_dynamodb(
    region_name: str | None, endpoint_url: str | None, connect_timeout: float, read_timeout: float
) -> Any:
    with _client_lock:
        return _session().resource(
            "dynamodb",
            region_name=region_name,
            endpoint_url=endpoint_url,
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout),
        )


class AwsClientResource(ConfigurableResource):
    """Base for resources that talk to one AWS service through boto3."""

    region_name: str | None = Field(default=None, description="AWS region; unset uses AWS_DEFAULT_REGION.")
    endpoint_url: str | None = Field(
        default=None, description="Service endpoint; unset uses AWS_ENDPOINT_URL or the AWS default."
    )
    max_attempts: int = Field(default=5, description="botocore retry attempts (standard mode).")
    connect_timeout_seconds: float = Field(default=5.0, description="TCP/TLS connect bound of one attempt.")
    read_timeout_seconds: float = Field(
        default=60.0, description="Bound on waiting for the next bytes of a response, per attempt."
    )

    def client(
        self, service: str, *, parameter_validation: bool = True, max_pool_connections: int = 10
    ) -> Any:
        """The process's client for `service` with this resource's settings (botocore's defaults otherwise:
        parameter validation on, 10 pooled connections); bulk writers change those two."""
        return _cached_client(
            service,
            self.region_name,
            self.endpoint_url,
            self.max_attempts,
            parameter_validation,
            max_pool_connections,
            self.connect_timeout_seconds,
            self.read_timeout_seconds,
        )

    def s3_link(self, bucket: str, key: str) -> str:
        """A link for the UI's metadata to an object, or a folder when `key` ends with `/`: the S3 console on
        AWS, a presigned URL of the local endpoint (resources/s3_objects.object_link says why)."""
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        return object_link(self.client("s3"), bucket, key, endpoint)

    def dynamodb_resource(self) -> Any:
        return _cached_dynamodb(
            self.region_name, self.endpoint_url, self.connect_timeout_seconds, self.read_timeout_seconds
        )
