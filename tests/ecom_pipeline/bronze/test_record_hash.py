import hashlib

from ecom_pipeline.bronze.record_hash import hash_column_order, hash_json_record, hash_pg_row, pg_row_text


def test_row_text_follows_postgres_record_out():
    assert pg_row_text(["7", None, "12.50", "t"]) == "(7,,12.50,t)"
    assert pg_row_text([""]) == '("")'  # empty string is quoted, so it differs from NULL
    assert pg_row_text(['say "hi"', "a\\b", "x,y", "(p)", "two words", "tab\there"]) == (
        '("say ""hi""","a\\\\b","x,y","(p)","two words","tab\there")'
    )
    assert pg_row_text(["Zoë北京", "Zoë 北京"]) == '(Zoë北京,"Zoë 北京")'


def test_null_and_empty_string_hash_differently():
    assert hash_pg_row([None]) != hash_pg_row([""])
    assert hash_pg_row(["1", None]) == hashlib.md5(b"(1,)").hexdigest()


def test_shifted_values_cannot_collide():
    assert hash_pg_row(["a,b", "c"]) != hash_pg_row(["a", "b,c"])


def test_columns_enter_the_hash_sorted_by_name():
    assert hash_column_order(["updated_at", "id", "Amount", "_x"]) == ["Amount", "_x", "id", "updated_at"]


def test_json_record_hash_ignores_key_order():
    assert hash_json_record({"a": 1, "b": "ü"}) == hash_json_record({"b": "ü", "a": 1})
    assert hash_json_record({"a": 1}) == hashlib.md5(b'{"a":1}').hexdigest()
