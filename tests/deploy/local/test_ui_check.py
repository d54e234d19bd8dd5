"""The UI check's pure readings of the pages: cut asset names, detail fields, backfill counts, XPath literals."""

from deploy.local.ui_check.browser import _literal
from deploy.local.ui_check.tasks import _backfill_counts, _field, _names


def test_a_name_cut_in_the_middle_matches_only_its_asset() -> None:
    assert _names("product_u…_records", "product_upload_records")
    assert _names("bronze_orders", "bronze_orders")
    assert not _names("bronze_up…_history", "bronze_orders")
    assert not _names("bronze_orders", "bronze_order_items")


def test_a_detail_field_is_the_line_after_its_label() -> None:
    page = "Partition selection\n2026-11-14...2026-11-20\nStatus\nSucceeded\nAsset name"
    assert _field(page, "Status") == "Succeeded"
    assert _field(page, "Duration") is None


def test_backfill_counts_come_from_the_asset_row() -> None:
    page = "Failed\nbronze_orders\n100% completed\n7\n0\n7\n0"
    assert _backfill_counts(page) == {"targeted": 7, "in_progress": 0, "succeeded": 7, "failed": 0}
    assert _backfill_counts("Loading…") == {}


def test_xpath_literals_quote_any_text() -> None:
    assert _literal("View") == "'View'"
    assert _literal("it's") == '"it\'s"'
    assert _literal("""a'b"c""") == """concat('a', "'", 'b"c')"""
