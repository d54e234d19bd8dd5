"""`imported_metrics` against the local stack: PostgreSQL, S3, SQS and SNS are the real servers."""

import json
import urllib.request

import pytest
from dagster import AssetCheckKey, DagsterEventType

from assets.metric_imports.assets import imported_metrics
from assets.metric_imports.checks import NO_DUPLICATES_CHECK, ROW_COUNT_CHECK
from assets.partitions import metric_import_file_partitions
from tests.assets.metric_imports.sandbox import ImportEnv, metric_records


def _materialization_metadata(result) -> dict:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _download(url: str) -> bytes:
    """GET a presigned link without AWS credentials, as a browser opening it from the UI would."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def _step_failures(result) -> list:
    return [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]


def test_file_is_imported_in_one_transaction_with_its_ledger_row(import_env: ImportEnv):
    key = "imports/2026/03/17/host-a.json"
    etag = import_env.put(key, metric_records(50))

    result = import_env.run(key)

    assert result.success
    assert import_env.rows_of(key) == 50
    ledger = import_env.ledger(key)
    assert ledger["status"] == "imported" and ledger["etag"] == etag
    assert ledger["records_in_file"] == ledger["rows_imported"] == 50
    metadata = _materialization_metadata(result)
    assert metadata["status"] == "imported"
    assert metadata["rows_imported"] == 50 and metadata["records_in_file"] == 50
    assert metadata["db_attempts"] == 1
    assert metadata["dagster/row_count"] == 50
    columns = {c.name: c for c in metadata["dagster/column_schema"].columns}
    assert {"name", "value", "timestamp", "source_file"} <= set(columns)
    assert (columns["value"].type, columns["timestamp"].type) == (
        "double precision",
        "timestamp with time zone",
    )
    assert metadata["file_s3"] == f"s3://{import_env.bucket}/{key}"
    assert json.loads(_download(metadata["file"])) == metric_records(50)  # the link opens the file
    assert _checks(result) == {ROW_COUNT_CHECK: True, NO_DUPLICATES_CHECK: True}
    first = import_env.query(
        'SELECT name, value, "timestamp" FROM {schema}.metrics WHERE source_file = %s ORDER BY "timestamp" LIMIT 2',
        [key],
    )
    assert [(name, value) for name, value, _ in first] == [("cpu_0", 0.0), ("cpu_1", 0.25)]
    assert first[1][2].isoformat() == "2026-03-17T12:00:01+00:00"
    assert import_env.dlq_messages() == []
    sums = import_env.metric_sums()
    assert (sums["FilesImported"], sums["RowsImported"], sums["FilesRejected"]) == (1, 50, 0)


def test_duplicate_event_does_not_duplicate_rows(import_env: ImportEnv):
    key = "imports/dup.json"
    import_env.put(key, metric_records(20))
    assert import_env.run(key).success

    again = import_env.run(key)

    assert again.success
    assert import_env.rows_of(key) == 20
    assert _materialization_metadata(again)["status"] == "already_imported"
    assert _materialization_metadata(again)["rows_imported"] == 0
    assert _checks(again) == {ROW_COUNT_CHECK: True, NO_DUPLICATES_CHECK: True}
    assert import_env.ledger(key)["attempts"] == 1


def test_new_version_of_a_file_replaces_its_rows(import_env: ImportEnv):
    key = "imports/replaced.json"
    import_env.put(key, metric_records(40))
    assert import_env.run(key).success
    new_etag = import_env.put(key, metric_records(15, name="mem"))

    result = import_env.run(key)

    assert result.success
    assert import_env.rows_of(key) == 15
    assert import_env.query("SELECT count(*) FROM {schema}.metrics WHERE name LIKE 'cpu%%'")[0][0] == 0
    assert _materialization_metadata(result)["rows_replaced"] == 40
    assert import_env.ledger(key)["etag"] == new_etag


def _bad_files() -> dict[str, tuple[bytes, str, int | None]]:
    good = metric_records(5)
    missing_value = [dict(r) for r in good]
    del missing_value[3]["value"]
    text_value = [dict(r) for r in good]
    text_value[2]["value"] = "12.5 kWh"
    bad_timestamp = [dict(r) for r in good]
    bad_timestamp[4]["timestamp"] = "17/03/2026 12:00"
    as_json = json.dumps(good)
    cut = as_json.index('"cpu_1"')
    return {
        "invalid_json": (as_json.replace('"cpu_2",', '"cpu_2"').encode(), "invalid_json", 2),
        "missing_value": (json.dumps(missing_value).encode(), "invalid_record", 3),
        "non_numeric_value": (json.dumps(text_value).encode(), "invalid_record", 2),
        "bad_timestamp": (json.dumps(bad_timestamp).encode(), "invalid_record", 4),
        "empty_array": (b"[]", "empty_array", None),
        "not_an_array": (json.dumps({"records": good}).encode(), "not_an_array", None),
        "too_large": (json.dumps(metric_records(3000)).encode(), "too_large", None),
        "not_utf8": (as_json[:cut].encode() + b"\xc3\x28" + as_json[cut:].encode(), "not_utf8", 1),
    }


@pytest.mark.parametrize("case", list(_bad_files()))
def test_bad_input_is_quarantined_dead_lettered_announced_and_not_retried(import_env: ImportEnv, case: str):
    payload, reason_code, record_index = _bad_files()[case]
    key = f"imports/bad/{case}.json"
    etag = import_env.put(key, payload)

    result = import_env.run(key)

    assert not result.success
    (failure,) = _step_failures(result)  # one failure, no retry of bad input
    assert key in failure.step_failure_data.error.message or key in str(
        failure.step_failure_data.user_failure_data
    )
    assert import_env.rows_of(key) == 0
    ledger = import_env.ledger(key)
    assert ledger["status"] == "rejected" and ledger["reason_code"] == reason_code and ledger["etag"] == etag
    assert ledger["record_index"] == record_index
    assert key in ledger["error"]
    if record_index is not None:
        assert f"record {record_index}" in ledger["error"]
    quarantined = f"quarantine/{key}"
    assert import_env.object_keys("quarantine/") == [quarantined, f"{quarantined}.rejection.json"]
    assert import_env.object_keys("imports/") == [key]  # copied, the original stays for a re-run
    (message,) = import_env.dlq_messages()
    assert message["key"] == key and message["etag"] == etag
    assert message["reason_code"] == reason_code and message["record_index"] == record_index
    assert message["quarantine_key"] == quarantined
    (notification,) = import_env.notifications()
    assert notification["key"] == key and notification["reason_code"] == reason_code
    sums = import_env.metric_sums()
    assert (sums["FilesRejected"], sums["FilesImported"], sums["RowsImported"]) == (1, 0, 0)
    links = failure.step_failure_data.user_failure_data.metadata
    assert links["quarantined_to_s3"].value == f"s3://{import_env.bucket}/{quarantined}"
    assert _download(links["quarantined_to"].value) == payload


def test_fixed_file_imports_after_a_rejection(import_env: ImportEnv):
    key = "imports/fixed-later.json"
    import_env.put(key, b"[{]")
    assert not import_env.run(key).success
    import_env.put(key, metric_records(8))

    assert import_env.run(key).success
    assert import_env.rows_of(key) == 8
    assert import_env.ledger(key)["status"] == "imported"
    assert import_env.ledger(key)["attempts"] == 2


def test_missing_file_fails_without_dead_letters(import_env: ImportEnv):
    result = import_env.run("imports/never-uploaded.json")

    assert not result.success
    assert "does not exist" in _step_failures(result)[0].step_failure_data.error.message
    assert import_env.dlq_messages() == []


def test_a_bad_file_in_a_batch_fails_alone_and_the_others_are_materialized(import_env: ImportEnv):
    keys = ["imports/run/1.json", "imports/run/2-bad.json", "imports/run/3.json"]
    import_env.put(keys[0], metric_records(6))
    import_env.put(keys[1], b'[{"name": "x", "value": "NaN?", "timestamp": "2026-01-01T00:00:00Z"}]')
    import_env.put(keys[2], metric_records(9))

    result = import_env.run_range(keys)

    assert not result.success
    materialized = {
        e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert sorted(materialized) == [keys[0], keys[2]]
    assert (materialized[keys[0]]["rows_imported"].value, materialized[keys[2]]["rows_imported"].value) == (
        6,
        9,
    )
    assert [import_env.rows_of(k) for k in keys] == [6, 0, 9]
    assert import_env.ledger(keys[1])["status"] == "rejected"
    (failure,) = _step_failures(result)
    assert "1 of 3 files not imported" in failure.step_failure_data.user_failure_data.description
    assert keys[1] in failure.step_failure_data.user_failure_data.description
    assert [m["key"] for m in import_env.dlq_messages()] == [keys[1]]
    assert _checks(result) == {ROW_COUNT_CHECK: True, NO_DUPLICATES_CHECK: True}
    sums = import_env.metric_sums()
    assert (sums["FilesImported"], sums["FilesRejected"], sums["RowsImported"]) == (2, 1, 15)
    status = import_env.instance.get_status_by_partition(
        imported_metrics.key, keys, imported_metrics.partitions_def
    )
    assert [status[k].value for k in keys] == ["MATERIALIZED", "FAILED", "MATERIALIZED"]


def test_a_batch_names_every_file_in_the_run_log_and_in_a_table(import_env: ImportEnv):
    keys = ["imports/batch/a.json", "imports/batch/b-bad.json", "imports/batch/c.json"]
    import_env.put(keys[0], metric_records(4))
    import_env.put(keys[1], b"not json")
    import_env.put(keys[2], metric_records(7))
    import_env.instance.add_dynamic_partitions(metric_import_file_partitions.name, keys)  # in this order
    assert import_env.run(keys[2]).success  # imported before: a no-op in the batch

    result = import_env.run_range(keys)

    assert not result.success
    logged = [e.user_message for e in import_env.instance.all_logs(result.run_id) if e.dagster_event is None]
    assert "file 1 of 3: imports/batch/a.json: imported, 4 rows (4 records)" in logged
    assert any(m.startswith("file 2 of 3: imports/batch/b-bad.json: rejected") for m in logged)
    assert "file 3 of 3: imports/batch/c.json: already_imported, 0 rows (7 records)" in logged
    [observation] = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_OBSERVATION
    ]
    assert observation.partition is None  # the run's, not one file's
    files = [r.data for r in observation.metadata["files"].value.records]
    assert [(f["file"], f["status"], f["rows"], f["records"]) for f in files] == [
        (keys[0], "imported", 4, 4),
        (keys[1], "rejected", 0, 0),
        (keys[2], "already_imported", 0, 7),
    ]
    assert keys[1] in files[1]["reason"] and files[0]["reason"] == ""
    assert observation.metadata["files_in_run"].value == 3
    (failure,) = _step_failures(result)
    failed = failure.step_failure_data.user_failure_data.metadata["failures"].value.records
    assert [(r.data["file"], r.data["status"]) for r in failed] == [(keys[1], "rejected")]


def test_a_range_run_records_each_check_on_each_file_partition(import_env: ImportEnv):
    keys = [f"imports/range/{n}.json" for n in range(3)]
    for n, key in enumerate(keys):
        import_env.put(key, metric_records(5 + n))

    result = import_env.run_range(keys)

    assert result.success
    assert sorted((e.check_name, e.partition) for e in result.get_asset_check_evaluations()) == sorted(
        (check, key) for check in (ROW_COUNT_CHECK, NO_DUPLICATES_CHECK) for key in keys
    )
    check_keys = [
        AssetCheckKey(imported_metrics.key, name) for name in (ROW_COUNT_CHECK, NO_DUPLICATES_CHECK)
    ]
    infos = import_env.instance.event_log_storage.get_asset_check_partition_info(check_keys)
    by_check = {(i.check_key.name, i.partition_key): i for i in infos}
    assert sorted(by_check) == sorted((c.name, k) for c in check_keys for k in keys)
    for info in infos:  # each result passed and checks the file's own (latest) materialization
        assert info.latest_execution_status.value == "SUCCEEDED"
        assert info.latest_target_materialization_storage_id == info.latest_materialization_storage_id
        assert info.is_current
    [row_count] = [
        e
        for e in result.get_asset_check_evaluations()
        if (e.check_name, e.partition) == (ROW_COUNT_CHECK, keys[2])
    ]
    assert {k: v.value for k, v in row_count.metadata.items()} == {"rows_in_table": 7, "records_in_file": 7}
