"""Every bad-input case of docs/product_uploads.md end to end: the defined outcome, and valid + rejected == total."""

import pytest

from tests.assets.product_uploads.sandbox import HEADER, csv_body, product_line

CLEAN = [product_line(1), product_line(2)]


def _accounted(env, upload_id: str) -> dict:
    history = env.history(upload_id)
    assert history["valid_records"] + history["error_records"] == history["total_records"]
    assert len(env.items(upload_id)) == history["total_records"]
    return history


@pytest.mark.parametrize(
    ("name", "body", "valid", "rejected"),
    [
        ("bom", b"\xef\xbb\xbf" + csv_body(*CLEAN), 2, 0),
        ("crlf", csv_body(*CLEAN, newline="\r\n"), 2, 0),
        (
            "quoted",
            csv_body(product_line(1, description='Soft, quiet\r\nand "ergonomic"'), product_line(2)),
            2,
            0,
        ),
        (
            "extra_column",
            (HEADER + ",internal\n" + "\n".join(f"{line},x" for line in CLEAN) + "\n").encode(),
            2,
            0,
        ),
        ("ragged_rows", csv_body(product_line(1) + ",surplus", "PROD0002,Only,Three"), 0, 2),
        ("duplicate_rows", csv_body(product_line(1), product_line(1), product_line(2)), 2, 1),
        ("header_only", csv_body(), 0, 0),
    ],
)
def test_file_is_accepted_with_row_outcomes(uploads_env, name, body, valid, rejected):
    upload = uploads_env.put(f"uploads/VEND001/{name}.csv", body)
    result = uploads_env.run(upload)
    # Every row rejected: the upload `failed`, and so does its validated_products step (docs/product_uploads.md).
    assert result.success == (valid > 0 or rejected == 0)
    history = _accounted(uploads_env, upload.upload_id)
    assert (history["valid_records"], history["error_records"]) == (valid, rejected)
    assert history["status"] == (
        "completed" if not rejected else "completed_with_errors" if valid else "failed"
    )
    assert len(uploads_env.error_messages()) == rejected
    if name == "quoted":
        [(description,)] = uploads_env.query("SELECT description FROM products WHERE sku = 'CA-VEND001-0001'")
        assert description == 'Soft, quiet\r\nand "ergonomic"'


def test_missing_optional_column_is_empty(uploads_env):
    header = HEADER.replace(",subcategory", "")
    lines = [",".join(v for i, v in enumerate(line.split(",")) if i != 3) for line in CLEAN]
    upload = uploads_env.put(
        "uploads/VEND001/no_subcategory.csv", ("\n".join([header, *lines]) + "\n").encode()
    )
    assert uploads_env.run(upload).success
    assert uploads_env.query("SELECT count(*) FROM products WHERE subcategory IS NULL") == [(2,)]


@pytest.mark.parametrize(
    ("name", "body", "message", "counted_rows"),
    [
        ("zero_bytes", b"", "object is empty (0 bytes)", 0),
        ("blank", b"\r\n\r\n", "no header row", 0),
        ("latin1", csv_body(product_line(1, brand="Caf\u00e9")).decode().encode("latin-1"), "not UTF-8", 1),
        (
            "no_sku_column",
            csv_body(*CLEAN).replace(b",sku,", b",code,"),
            "header lacks required columns: sku",
            2,
        ),
        ("broken_quote", csv_body(product_line(1), 'PROD2,"never closed'), "malformed CSV", 2),
    ],
)
def test_file_is_refused_whole(uploads_env, name, body, message, counted_rows):
    upload = uploads_env.put(f"uploads/VEND001/{name}.csv", body)
    result = uploads_env.run(upload)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert message in failure.event_specific_data.error.message
    assert f"uploads/VEND001/{name}.csv" in failure.event_specific_data.error.message
    history = uploads_env.history(upload.upload_id)
    assert history["status"] == "failed" and message in history["error_message"]
    assert (history["valid_records"], history["error_records"]) == (0, counted_rows)
    assert uploads_env.items(upload.upload_id) == []
    assert uploads_env.query("SELECT count(*) FROM products") == [(0,)]


def test_two_vendors_uploading_in_the_same_second_do_not_collide(uploads_env):
    # Same file name, same content, same second: an id from the timestamp alone would give both one id.
    body = csv_body(product_line(1))
    for _attempt in range(5):  # two PUTs can straddle a second boundary; retry until they share one
        first = uploads_env.put("uploads/VEND001/products.csv", body)
        second = uploads_env.put("uploads/VEND002/products.csv", body)
        if first.upload_id.split("_")[2:4] == second.upload_id.split("_")[2:4]:
            break
    assert first.upload_id.split("_")[2:4] == second.upload_id.split("_")[2:4]
    assert first.upload_id != second.upload_id
    assert uploads_env.run(first).success and uploads_env.run(second).success
    rows = uploads_env.query("SELECT upload_id, vendor_id, status FROM upload_history ORDER BY vendor_id")
    assert rows == [(first.upload_id, "VEND001", "completed"), (second.upload_id, "VEND002", "completed")]
    assert uploads_env.query("SELECT vendor_id, count(*) FROM products GROUP BY 1 ORDER BY 1") == [
        ("VEND001", 1),
        ("VEND002", 1),
    ]
