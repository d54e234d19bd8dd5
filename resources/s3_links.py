"""Links to S3 objects that open from the Dagster UI: presigned GET URLs.

An `s3://` URI is not something a browser opens, so metadata that names an object a person will want to read
(an error report, an imported or quarantined file) carries a presigned GET URL next to the `s3://` path.
Presigning is local (no request to S3): it signs with the process's credentials, so locally the link points at
the stack's S3 endpoint (`AWS_ENDPOINT_URL`) and on AWS at the bucket. The link grants a read of that one object
to whoever sees the run's metadata until it expires: `LINK_SECONDS` (7 days, SigV4's maximum), or sooner when it
was signed with temporary credentials (a Lambda or ECS role), which end the link with the session. After that
the `s3://` path still names the object.
"""

from typing import Any

LINK_SECONDS = 7 * 24 * 3600


def presigned_get_url(s3_client: Any, bucket: str, key: str, expires_seconds: int = LINK_SECONDS) -> str:
    """A URL that GETs `s3://bucket/key` without AWS credentials until it expires."""
    return s3_client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_seconds
    )
