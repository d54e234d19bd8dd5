from datetime import UTC, datetime

from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag, s3_console_url

STAMP = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_normalize_etag_strips_quotes_and_whitespace() -> None:
    assert normalize_etag(' "abc" ') == "abc"
    assert normalize_etag('"d41d8"') == "d41d8"
    assert normalize_etag("bare") == "bare"


def test_version_from_a_listing_entry_and_a_head_response_agree() -> None:
    listed = S3ObjectVersion.from_response(
        {"Key": "a/b.csv", "ETag": '"e1"', "Size": 12, "LastModified": STAMP}
    )
    headed = S3ObjectVersion.from_response(
        {"ETag": '"e1"', "ContentLength": 12, "LastModified": STAMP}, key="a/b.csv"
    )
    assert listed == headed
    assert listed.version == "a/b.csv@e1"


def test_console_links_name_the_object_or_folder_and_carry_no_credential() -> None:
    assert s3_console_url("lake", "data/bronze/x y/part-00000.parquet", "eu-west-1") == (
        "https://s3.console.aws.amazon.com/s3/object/lake?region=eu-west-1&prefix=data/bronze/x%20y/part-00000.parquet"
    )
    folder = s3_console_url("lake", "data/bronze/orders/", None)
    assert (
        folder
        == "https://s3.console.aws.amazon.com/s3/buckets/lake?region=us-east-1&prefix=data/bronze/orders/"
    )
