from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecom_pipeline.product_uploads.object_keys import (
    decode_event_key,
    error_report_key,
    parse_upload_key,
    vendor_folder_of,
)
from ecom_pipeline.product_uploads.upload_id import is_upload_id, make_upload_id
from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag

SECOND = datetime(2024, 12, 21, 10, 30, 45, tzinfo=UTC)


def version(key: str, etag: str, last_modified: datetime = SECOND) -> S3ObjectVersion:
    """The object version as S3 reports it (a quoted ETag, as listings and HeadObject return it)."""
    return S3ObjectVersion.from_response({"Key": key, "ETag": etag, "Size": 1, "LastModified": last_modified})


@pytest.mark.parametrize(
    "key",
    [
        "uploads/VEND001/VEND001_20241221_103045.csv",
        "uploads/VEND001/spring sale 2024.csv",
        "uploads/VEND001/a+b=c.csv",
        "uploads/VEND001/Café 商品 ✓.CSV",
    ],
)
def test_upload_keys_with_spaces_plus_and_unicode(key):
    parsed = parse_upload_key(key)
    assert parsed is not None and parsed.vendor_id == "VEND001" and parsed.key == key
    assert parsed.file_name == key.split("/")[-1]


@pytest.mark.parametrize(
    "key",
    [
        "uploads/VEND001/error_reports/x.errors.csv",
        "uploads/VEND001/readme.txt",
        "uploads/VEND001.csv",
        "uploads/VEND001/.csv",
        "other/VEND001/x.csv",
        "uploads//x.csv",
    ],
)
def test_non_upload_keys(key):
    assert parse_upload_key(key) is None


def test_event_keys_decode_plus_as_space():
    assert (
        decode_event_key("uploads/VEND001/spring+sale+%2B+caf%C3%A9.csv")
        == "uploads/VEND001/spring sale + café.csv"
    )


def test_vendor_folder_and_report_key():
    assert vendor_folder_of("uploads/VEND001/") == "VEND001"
    assert vendor_folder_of("uploads/") is None
    upload = parse_upload_key("uploads/VEND001/spring sale.csv")
    report = error_report_key(upload, "UPLOAD_X")
    assert report == "uploads/VEND001/error_reports/spring sale.UPLOAD_X.errors.csv"
    assert parse_upload_key(report) is None  # the sensor never picks up its own reports


def test_two_vendors_in_the_same_second_get_different_ids():
    a = make_upload_id("VEND001", version("uploads/VEND001/products.csv", '"etag1"'))
    b = make_upload_id("VEND002", version("uploads/VEND002/products.csv", '"etag1"'))
    assert a != b
    assert a.startswith("UPLOAD_VEND001_20241221_103045_") and is_upload_id(a) and is_upload_id(b)


def test_same_vendor_same_second_different_files_differ():
    a = make_upload_id("VEND001", version("uploads/VEND001/a.csv", "e"))
    b = make_upload_id("VEND001", version("uploads/VEND001/b.csv", "e"))
    assert a != b


def test_id_is_deterministic_per_object_version():
    key = "uploads/VEND001/a.csv"
    local = SECOND.astimezone(timezone(timedelta(hours=2)))
    assert make_upload_id("VEND001", version(key, '"e1"')) == make_upload_id(
        "VEND001", version(key, "e1", local)
    )
    assert make_upload_id("VEND001", version(key, "e1")) != make_upload_id("VEND001", version(key, "e2"))


def test_unsafe_vendor_folder_is_sanitised():
    upload_id = make_upload_id("Café Ltd_x/y" * 4, version("k", "e"))
    assert is_upload_id(upload_id) and len(upload_id) <= 58


def test_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_upload_id("VEND001", version("k", "e", datetime(2024, 1, 1)))


def test_normalize_etag():
    """The shared `normalize_etag` on the quoted ETags S3 returns for uploads."""
    assert normalize_etag(' "abc" ') == "abc"
