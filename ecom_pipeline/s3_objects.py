"""S3 object versions as sensors and assets compare them: a key plus its ETag, size and LastModified.

A file's version is its ETag: the same bytes uploaded twice are one version, an overwrite is a new one. S3
returns ETags quoted (`"abc"`) in listings and HeadObject alike; every comparison and stored value uses them
bare, through `normalize_etag`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote


def normalize_etag(etag: str) -> str:
    """The ETag without the quotes and whitespace S3 wraps it in."""
    return etag.strip().strip('"')


@dataclass(frozen=True)
class S3ObjectVersion:
    key: str
    etag: str  # normalized
    size: int
    last_modified: datetime

    @property
    def version(self) -> str:
        """`key@etag`: one object version, the unit run keys and cursors remember."""
        return f"{self.key}@{self.etag}"

    @classmethod
    def from_response(cls, item: Mapping[str, Any], key: str | None = None) -> "S3ObjectVersion":
        """From a ListObjectsV2 `Contents` entry, or a HeadObject/GetObject response and the key asked for."""
        return cls(
            key=key if key is not None else item["Key"],
            etag=normalize_etag(item["ETag"]),
            size=int(item["Size"] if "Size" in item else item["ContentLength"]),
            last_modified=item["LastModified"],
        )


def s3_console_url(bucket: str, key: str, region: str | None) -> str:
    """The S3 console page of an object, or of a folder when `key` ends with `/`.

    A link in stored metadata must stay valid and carry no credential: the viewer signs in to the console
    with their own access. A presigned URL made by a step on AWS expires with the step's temporary
    credentials (within hours) while the event log keeps it, and carries their session token.
    """
    query = f"region={quote(region or 'us-east-1')}&prefix={quote(key)}"
    page = "buckets" if key.endswith("/") else "object"
    return f"https://s3.console.aws.amazon.com/s3/{page}/{quote(bucket)}?{query}"
