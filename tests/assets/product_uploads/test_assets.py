"""Both upload assets against the real stack: clean upload, bad rows, re-runs, vendor rejection."""

import csv
import io
import urllib.request
from decimal import Decimal

import boto3
from dagster import AssetRecordsFilter

from assets.partitions import product_upload_partitions
from assets.product_uploads.assets import product_upload_records, validated_products
from tests.assets.product_uploads.sandbox import csv_body, product_line


def check_results(result) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}


def metadata(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_clean_upload_lands_in_products(uploads_env):
    env = uploads_env
    upload = env.put(
        "uploads/VEND001/VEND001_20241221_103045.csv", csv_body(*(product_line(n) for n in range(1, 32)))
    )
    result = env.run(upload)
    assert result.success
    history = env.history(upload.upload_id)
    assert (
        history["status"],
        history["total_records"],
        history["valid_records"],
        history["error_records"],
    ) == (
        "completed",
        31,
        31,
        0,
    )
    items = env.items(upload.upload_id)
    assert [i["record_id"]["S"] for i in items[:2]] == ["REC_00001", "REC_00002"]
    assert {i["status"]["S"] for i in items} == {"validated"}
    assert items[0]["product_data"]["M"]["price"] == {"N": "19.99"}
    rows = env.query("SELECT sku, name, price, stock_quantity, source_upload_id FROM products ORDER BY sku")
    assert len(rows) == 31
    assert rows[0] == ("CA-VEND001-0001", "Wireless Mouse 1", Decimal("19.99"), 150, upload.upload_id)
    assert all(passed for passed, _ in check_results(result).values())
    assert len(check_results(result)) == 4
    # Each check's result is recorded on the upload's partition, against the upload's materialization.
    assert {e.partition for e in result.get_asset_check_evaluations()} == {upload.upload_id}
    graph_checks = [*product_upload_records.check_keys, *validated_products.check_keys]
    infos = env.instance.event_log_storage.get_asset_check_partition_info(graph_checks)
    assert sorted((i.check_key.name, i.partition_key, i.is_current) for i in infos) == sorted(
        (key.name, upload.upload_id, True) for key in graph_checks
    )
    meta = metadata(result, "validated_products")
    assert meta["valid_records"] == 31 and meta["rejected_records"] == 0 and meta["products_inserted"] == 31
    assert (
        meta["dagster/row_count"] == 31
        and metadata(result, "product_upload_records")["dagster/row_count"] == 31
    )
    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert {"vendor_id", "sku", "name", "price", "stock_quantity", "source_upload_id"} <= set(columns)
    assert columns["price"].type == "numeric(12,2)" and not columns["sku"].constraints.nullable
    assert env.error_messages() == []
    [note] = env.notifications()
    assert note["status"] == "completed" and note["valid_records"] == 31
    assert not [k for k in env.keys("uploads/VEND001/error_reports/")]


def test_bad_rows_are_rejected_with_reasons_and_reported(uploads_env):
    env = uploads_env
    lines = [
        product_line(1),
        product_line(2, price="-5"),
        product_line(3, compare_at_price="9.99"),
        product_line(4, stock_quantity="many"),
        product_line(5, unit="bushel", image_url="not a url"),
        product_line(6, sku=""),
        product_line(1, product_name="Same SKU again"),  # duplicate of row 1
        product_line(8) + ",extra",
        product_line(9),
    ]
    upload = env.put("uploads/VEND002/spring sale + más.csv", csv_body(*lines))
    result = env.run(upload)
    assert result.success
    history = env.history(upload.upload_id)
    assert (
        history["status"],
        history["total_records"],
        history["valid_records"],
        history["error_records"],
    ) == (
        "completed_with_errors",
        9,
        2,
        7,
    )
    messages = sorted(env.error_messages(), key=lambda m: m["row_number"])
    assert [(m["row_number"], m["field"]) for m in messages] == [
        (2, "price"),
        (3, "compare_at_price"),
        (4, "stock_quantity"),
        (5, "unit"),
        (6, "sku"),
        (7, "sku"),
        (8, "row"),
    ]
    assert all(m["upload_id"] == upload.upload_id and m["reason"] for m in messages)
    assert messages[5]["reason"] == "duplicate sku 'CA-VEND001-0001' in this upload (first at row 1)"
    assert {e["field"] for e in messages[3]["errors"]} == {"unit", "image_url"}
    statuses = [i["status"]["S"] for i in env.items(upload.upload_id)]
    assert statuses == ["validated"] + ["error"] * 7 + ["validated"]
    assert env.query("SELECT count(*) FROM products WHERE vendor_id = 'VEND002'") == [(2,)]
    [report_key] = env.keys("uploads/VEND002/error_reports/")
    assert report_key == f"uploads/VEND002/error_reports/spring sale + más.{upload.upload_id}.errors.csv"
    report = list(csv.DictReader(io.StringIO(env.read(report_key).decode("utf-8-sig"), newline="")))
    assert [r["row_number"] for r in report] == ["2", "3", "4", "5", "6", "7", "8"]
    assert report[0]["error_reasons"] == "price: -5 must be greater than 0"
    checks = check_results(result)
    assert checks["every_row_accounted_for"] == (True, "ERROR")
    assert checks["error_rate_below_threshold"] == (False, "WARN")  # 7/9 > 0.25
    meta = metadata(result, "validated_products")
    assert meta["error_report_s3"].endswith(report_key)
    # The link opens without AWS credentials (here against the stack's S3 endpoint) and is the report.
    with urllib.request.urlopen(meta["error_report"], timeout=30) as response:
        assert response.read() == env.read(report_key)
    assert meta["rejected_rows_total"] == 7
    rows = [r.data for r in meta["rejected_rows"].records]
    assert [(r["row_number"], r["field"]) for r in rows] == [
        (2, "price"),
        (3, "compare_at_price"),
        (4, "stock_quantity"),
        (5, "unit"),
        (5, "image_url"),
        (6, "sku"),
        (7, "sku"),
        (8, "row"),
    ]
    assert rows[0] == {
        "row_number": 2,
        "line": 3,
        "sku": "CA-VEND001-0002",
        "field": "price",
        "value": "-5",
        "reason": "-5 must be greater than 0",
    }
    assert (rows[2]["value"], rows[4]["value"], rows[6]["value"]) == ("many", "not a url", "CA-VEND001-0001")
    assert rows[6]["reason"] == "duplicate sku 'CA-VEND001-0001' in this upload (first at row 1)"
    reasons = {(r.data["field"], r.data["pattern"]): r.data for r in meta["rejection_reasons"].records}
    assert reasons[("price", "N must be greater than N")] == {
        "field": "price",
        "pattern": "N must be greater than N",
        "rows": 1,
        "example_row": 2,
        "example_value": "-5",
        "example_reason": "-5 must be greater than 0",
    }
    assert sum(r["rows"] for r in reasons.values()) == 8
    logged = [e.user_message for e in env.instance.all_logs(result.run_id) if e.dagster_event is None]
    assert (
        f"upload {upload.upload_id}: 1 rejected: price: N must be greater than N "
        "(e.g. row 2, price='-5': -5 must be greater than 0)"
    ) in logged
    [note] = env.notifications()
    assert note["status"] == "completed_with_errors" and note["rejected_records"] == 7


def test_an_upload_with_every_row_rejected_fails_its_partition_with_the_reasons(uploads_env):
    env = uploads_env
    upload = env.put(
        "uploads/VEND001/all_bad.csv",
        csv_body(product_line(1, price="-1"), product_line(2, price="-2"), product_line(3, unit="bushel")),
    )
    result = env.run(upload)
    assert not result.success
    assert env.history(upload.upload_id)["status"] == "failed"
    # Staging did its job; validation did not produce products, so its partition is not materialized (green)
    # but failed (red) in the partitions view.
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == [
        "product_upload_records"
    ]
    records_filter = AssetRecordsFilter(asset_key=validated_products.key, asset_partitions=[upload.upload_id])
    assert env.instance.fetch_materializations(records_filter, limit=1).records == []
    statuses = env.instance.get_status_by_partition(
        validated_products.key, [upload.upload_id], product_upload_partitions
    )
    assert statuses[upload.upload_id].value == "FAILED"
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "validated_products"
    error = failure.event_specific_data.error
    assert f"upload {upload.upload_id}: all 3 rows rejected, nothing reached products" in error.message
    assert "most common: 2 rejected: price: N must be greater than N (e.g. row 1, price='-1'" in error.message
    meta = failure.event_specific_data.user_failure_data.metadata
    assert meta["rejected_rows_total"].value == 3
    assert [
        (r.data["row_number"], r.data["field"], r.data["value"]) for r in meta["rejected_rows"].records
    ] == [
        (1, "price", "-1"),
        (2, "price", "-2"),
        (3, "unit", "bushel"),
    ]
    assert [(r.data["field"], r.data["rows"]) for r in meta["rejection_reasons"].records] == [
        ("price", 2),
        ("unit", 1),
    ]
    with urllib.request.urlopen(meta["error_report"].value, timeout=30) as response:
        assert b"-1 must be greater than 0" in response.read()
    assert len(env.error_messages()) == 3 and env.query("SELECT count(*) FROM products") == [(0,)]


def test_rerun_and_duplicate_event_leave_the_same_state(uploads_env):
    env = uploads_env
    upload = env.put("uploads/VEND001/a.csv", csv_body(product_line(1), product_line(2, price="0")))
    assert env.run(upload).success
    first_messages, first_notes = env.error_messages(), env.notifications()
    assert len(first_messages) == 1 and len(first_notes) == 1
    before = env.query("SELECT product_id, updated_at FROM products ORDER BY product_id")

    again = env.run(upload)  # the same event delivered twice / the partition re-run from the UI
    assert again.success
    assert env.error_messages() == [] and env.notifications() == []
    assert env.query("SELECT count(*) FROM upload_history") == [(1,)]
    assert len(env.items(upload.upload_id)) == 2
    assert env.query("SELECT product_id, updated_at FROM products ORDER BY product_id") == before
    meta = metadata(again, "product_upload_records")
    assert meta["items_written"] == 0 and meta["staging"] == "already staged; skipped"
    assert metadata(again, "validated_products")["items_status_changed"] == 0
    assert env.history(upload.upload_id)["status"] == "completed_with_errors"


def test_manual_rerun_without_tags_resolves_through_upload_history(uploads_env):
    env = uploads_env
    upload = env.put("uploads/VEND001/b.csv", csv_body(product_line(1)))
    assert env.run(upload).success
    assert env.run(upload, tags=False).success
    assert env.query("SELECT count(*) FROM products") == [(1,)]


def test_unknown_and_inactive_vendors_are_rejected(uploads_env):
    env = uploads_env
    for vendor, reason in (("VEND777", "does not exist"), ("VEND009", "is suspended, not active")):
        upload = env.put(f"uploads/{vendor}/products.csv", csv_body(product_line(1, vendor=vendor)))
        result = env.run(upload)
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert reason in failure.event_specific_data.error.message
        history = env.history(upload.upload_id)
        assert history["status"] == "rejected" and reason in history["rejection_reason"]
        assert env.items(upload.upload_id) == []
    assert env.query("SELECT count(*) FROM products") == [(0,)]


def test_overwritten_object_is_not_processed_under_the_old_id(uploads_env):
    env = uploads_env
    old = env.put("uploads/VEND001/c.csv", csv_body(product_line(1)))
    new = env.put("uploads/VEND001/c.csv", csv_body(product_line(1), product_line(2)))
    assert new.upload_id != old.upload_id
    result = env.run(old)
    assert not result.success
    assert env.history(old.upload_id) is None
    assert env.run(new).success and env.history(new.upload_id)["total_records"] == 2


def _delete_item(env, upload_id: str, record_id: str) -> None:
    boto3.client("dynamodb").delete_item(
        TableName=env.table, Key={"upload_id": {"S": upload_id}, "record_id": {"S": record_id}}
    )


def test_first_pass_skips_the_read_back_and_restores_a_lost_staged_item(uploads_env):
    env = uploads_env
    upload = env.put("uploads/VEND001/d.csv", csv_body(product_line(1), product_line(2)))
    assert env.run(upload, assets=[product_upload_records]).success
    _delete_item(env, upload.upload_id, "REC_00002")  # lost behind the pipeline's back after staging
    result = env.run(upload, assets=[validated_products])
    assert result.success
    meta = metadata(result, "validated_products")
    assert meta["items_read_back"] == "no (first pass)" and meta["items_status_changed"] == 2
    # Rebuilt in full from the same object version: nothing is lost.
    items = env.items(upload.upload_id)
    assert [(i["record_id"]["S"], i["status"]["S"]) for i in items] == [
        ("REC_00001", "validated"),
        ("REC_00002", "validated"),
    ]
    assert items[1]["product_data"]["M"]["sku"] == {"S": "CA-VEND001-0002"}
    assert env.history(upload.upload_id)["status"] == "completed"


def test_rerun_refuses_an_upload_with_a_lost_staged_item(uploads_env):
    env = uploads_env
    upload = env.put("uploads/VEND001/d.csv", csv_body(product_line(1), product_line(2, price="0")))
    assert env.run(upload).success
    assert len(env.error_messages()) == 1 and len(env.notifications()) == 1
    _delete_item(env, upload.upload_id, "REC_00002")
    result = env.run(upload, assets=[validated_products])
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "DynamoDB holds 1 of their items" in failure.event_specific_data.error.message
    assert env.history(upload.upload_id)["status"] == "completed_with_errors"
    assert [i["record_id"]["S"] for i in env.items(upload.upload_id)] == ["REC_00001"]
    assert env.error_messages() == [] and env.notifications() == []


def test_interrupted_first_pass_is_finished_from_the_stored_statuses(uploads_env):
    """A validator that died after marking `validating` and writing some statuses: the next run reads back."""
    env = uploads_env
    upload = env.put("uploads/VEND001/e.csv", csv_body(product_line(1), product_line(2, price="0")))
    assert env.run(upload, assets=[product_upload_records]).success
    env.query("UPDATE upload_history SET status = 'validating' WHERE upload_id = %s", [upload.upload_id])
    [first, _] = env.items(upload.upload_id)
    boto3.client("dynamodb").put_item(
        TableName=env.table, Item=first | {"status": {"S": "validated"}, "validated_at": {"S": "earlier"}}
    )
    result = env.run(upload, assets=[validated_products])
    assert result.success
    meta = metadata(result, "validated_products")
    assert meta["items_read_back"] == 2 and meta["items_status_changed"] == 1
    assert meta["sqs_messages_sent"] == 1
    [message] = env.error_messages()
    assert message["record_id"] == "REC_00002"
    items = env.items(upload.upload_id)
    assert items[0]["validated_at"] == {"S": "earlier"}  # unchanged, not rewritten
    assert [i["status"]["S"] for i in items] == ["validated", "error"]
    assert env.history(upload.upload_id)["status"] == "completed_with_errors"


def test_valid_rows_are_upserted_in_batches_with_every_row_accounted(uploads_env, monkeypatch):
    """Rows are streamed and products upserted a batch at a time (memory holds a batch, not the upload): with
    a batch of 4, 11 valid rows take three upserts whose counts add up, and a duplicate SKU in a later batch is
    still rejected against its first row in an earlier one."""
    import assets.product_uploads.validation_step as validation_step

    monkeypatch.setattr(validation_step, "UPSERT_BATCH_ROWS", 4)
    env = uploads_env
    lines = [product_line(n) for n in range(1, 12)] + [product_line(2)]  # row 12 repeats row 2's SKU
    upload = env.put("uploads/VEND001/VEND001_20241221_110000.csv", csv_body(*lines))
    result = env.run(upload)
    assert result.success
    meta = metadata(result, "validated_products")
    assert (meta["valid_records"], meta["rejected_records"], meta["products_inserted"]) == (11, 1, 11)
    assert env.query("SELECT count(*) FROM products")[0][0] == 11
    [message] = env.error_messages()
    assert "first at row 2" in str(message)
    rerun = env.run(upload)  # the re-run upserts the same batches: nothing changes
    assert metadata(rerun, "validated_products")["products_unchanged"] == 11
