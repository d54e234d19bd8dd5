"""Listing and heading object versions against the stack's S3 (moto server)."""

import hashlib

import boto3
import pytest
from botocore.exceptions import ClientError

from deploy.local.aws_bootstrap import delete_bucket
from resources.aws_clients import AwsClientResource
from resources.s3_objects import head_object_version, list_folders, list_object_versions, list_page


@pytest.fixture
def bucket(stack_env, unique):
    s3 = boto3.client("s3")
    name = f"test-objects-{unique}"
    s3.create_bucket(Bucket=name)
    yield name
    delete_bucket(s3, name)


def test_listing_pages_through_every_object_with_bare_etags(bucket) -> None:
    client = AwsClientResource().client("s3")
    bodies = {f"in/{i:03d}.json": f"body {i}".encode() for i in range(7)}
    for key, body in bodies.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    client.put_object(Bucket=bucket, Key="out/other.json", Body=b"x")

    listed = list(list_object_versions(client, bucket, "in/", page_size=3))

    assert [o.key for o in listed] == sorted(bodies)
    for o in listed:
        assert o.etag == hashlib.md5(bodies[o.key], usedforsecurity=False).hexdigest()
        assert o.size == len(bodies[o.key])
    after = list(list_object_versions(client, bucket, "in/", start_after="in/004.json"))
    assert [o.key for o in after] == ["in/005.json", "in/006.json"]


def test_head_gives_the_same_version_as_the_listing_and_404_when_gone(bucket) -> None:
    client = AwsClientResource().client("s3")
    client.put_object(Bucket=bucket, Key="a.csv", Body=b"a,b\n")
    (listed,) = list_object_versions(client, bucket, "")
    assert head_object_version(client, bucket, "a.csv") == listed
    with pytest.raises(ClientError) as raised:
        head_object_version(client, bucket, "missing.csv")
    assert raised.value.response["Error"]["Code"] in {"404", "NoSuchKey"}


def test_one_page_at_a_time_with_folders_and_a_token_until_the_listing_is_complete(bucket) -> None:
    client = AwsClientResource().client("s3")
    for key in ("up/A/1.csv", "up/A/2.csv", "up/B/1.csv", "up/top.csv", "up/A/error_reports/r.json"):
        client.put_object(Bucket=bucket, Key=key, Body=b"x")

    assert list_folders(client, bucket, "up/", page_size=1) == ["up/A/", "up/B/"]
    first = list_page(client, bucket, "up/A/", max_keys=1, delimiter="/")
    assert [o.key for o in first.objects] == ["up/A/1.csv"] and first.next_token
    second = list_page(
        client, bucket, "up/A/", max_keys=1, delimiter="/", continuation_token=first.next_token
    )
    assert [o.key for o in second.objects] == ["up/A/2.csv"]
    assert second.folders == ["up/A/error_reports/"] or second.next_token
    after = list_page(client, bucket, "up/A/", start_after="up/A/1.csv", delimiter="/")
    assert [o.key for o in after.objects] == ["up/A/2.csv"] and after.next_token is None
