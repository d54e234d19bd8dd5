"""The COPY text encoding of the products upsert (pure; the round trip is covered by the stack tests)."""

from decimal import Decimal

from resources.product_uploads.products_table import copy_text


def test_copy_text_escapes_control_characters_and_nulls():
    text = copy_text([("a\tb", "line1\r\nline2", "back\\slash", None, Decimal("19.99"), 7)])
    assert text == "a\\tb\tline1\\r\\nline2\tback\\\\slash\t\\N\t19.99\t7\n"


def test_copy_text_one_line_per_row():
    assert copy_text([("x",), ("y",)]) == "x\ny\n"
    assert copy_text([]) == ""
