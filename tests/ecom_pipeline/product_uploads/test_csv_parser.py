from decimal import Decimal

import pytest

from ecom_pipeline.product_uploads.csv_parser import (
    PRODUCT_COLUMNS,
    ROW_FIELD,
    UploadFileError,
    open_upload,
    parse_upload_csv,
    record_id,
)

HEADER = ",".join(PRODUCT_COLUMNS)
GOOD = (
    "PROD0001,Wireless Mouse,Computer Accessories,Mice,Ergonomic,CA-VEND001-0001,TechGear,19.99,,150,piece,"
    "0.25,12x8x4,https://images.example.com/mouse.jpg"
)


def csv_bytes(*lines: str, newline: str = "\n") -> bytes:
    return newline.join(lines).encode("utf-8") + newline.encode()


def test_clean_row_is_typed():
    parsed = parse_upload_csv(csv_bytes(HEADER, GOOD), "uploads/VEND001/a.csv")
    [row] = parsed.rows
    assert row.row_number == 1 and row.line_number == 2
    assert row.parse_errors == []
    assert row.product_data["price"] == Decimal("19.99")
    assert row.product_data["stock_quantity"] == 150
    assert "compare_at_price" not in row.product_data  # empty -> absent


def test_bom_is_stripped():
    parsed = parse_upload_csv(b"\xef\xbb\xbf" + csv_bytes(HEADER, GOOD), "f.csv")
    assert parsed.had_bom
    assert parsed.columns[0] == "vendor_product_id"
    assert len(parsed.rows) == 1 and not parsed.rows[0].parse_errors


def test_crlf_line_endings():
    parsed = parse_upload_csv(csv_bytes(HEADER, GOOD, GOOD.replace("0001", "0002"), newline="\r\n"), "f.csv")
    assert [r.product_data["sku"] for r in parsed.rows] == ["CA-VEND001-0001", "CA-VEND001-0002"]
    assert parsed.rows[1].product_data["image_url"] == "https://images.example.com/mouse.jpg"


def test_quoted_commas_and_newlines_keep_line_numbers():
    multi = GOOD.replace("Ergonomic", '"Soft, quiet\nand ""ergonomic"""')
    parsed = parse_upload_csv(csv_bytes(HEADER, multi, GOOD.replace("0001", "0002")), "f.csv")
    assert parsed.rows[0].product_data["description"] == 'Soft, quiet\nand "ergonomic"'
    assert parsed.rows[1].line_number == 4  # row 1 spans lines 2-3
    assert parsed.rows[1].row_number == 2


def test_extra_and_missing_columns_in_header():
    header = HEADER.replace(",subcategory", "") + ",internal_note"
    row = GOOD.replace(",Mice", "") + ",do not publish"
    parsed = parse_upload_csv(csv_bytes(header, row), "f.csv")
    assert parsed.ignored_columns == ["internal_note"]
    assert parsed.missing_optional_columns == ["subcategory"]
    assert not parsed.rows[0].parse_errors
    assert "internal_note" not in parsed.rows[0].product_data


def test_missing_required_header_column_refuses_file():
    header = HEADER.replace(",sku", "")
    with pytest.raises(UploadFileError, match=r"f\.csv, line 1: header lacks required columns: sku"):
        parse_upload_csv(csv_bytes(header, GOOD), "f.csv")


def test_rows_with_extra_or_missing_fields_are_staged_with_errors():
    parsed = parse_upload_csv(csv_bytes(HEADER, GOOD + ",surplus", ",".join(GOOD.split(",")[:5])), "f.csv")
    assert [r.parse_errors[0].field for r in parsed.rows] == [ROW_FIELD, ROW_FIELD]
    assert parsed.rows[0].parse_errors[0].reason == "row has 15 fields, header has 14"
    assert parsed.rows[1].parse_errors[0].reason == "row has 5 fields, header has 14"


def test_non_utf8_file_names_offset_and_line():
    data = csv_bytes(HEADER, GOOD.replace("Ergonomic", "Caf\xe9").encode("latin-1").decode("latin-1"))
    data = data.decode("utf-8").encode("latin-1")
    with pytest.raises(UploadFileError, match=r"line 2: not UTF-8: byte 0xe9"):
        parse_upload_csv(data, "f.csv")


def test_non_utf8_byte_past_the_first_decoded_chunk_is_located_exactly():
    """The file is checked in 1 MiB chunks; a multi-byte character straddling a chunk edge is fine, and a bad
    byte beyond the first chunk is still named by its exact offset and line."""
    rows = [
        GOOD.replace("0001", f"{n:04d}").replace("Ergonomic", "Ergonomisch \u00e9\u20ac")
        for n in range(14_000)
    ]
    data = csv_bytes(HEADER, *rows)
    assert len(data) > 2 * (1 << 20)
    parse_upload_csv(data, "f.csv")  # every straddling character decodes
    bad = data.rindex(b"\xe2\x82\xac")  # the euro sign of the last row
    broken = data[:bad] + b"\xe2\x28" + data[bad + 3 :]
    with pytest.raises(UploadFileError, match=rf"line 14001: not UTF-8: byte 0xe2 at offset {bad};"):
        parse_upload_csv(broken, "f.csv")


def test_rows_are_streamed_and_can_be_read_again():
    upload = open_upload(csv_bytes(HEADER, GOOD, "", GOOD.replace("0001", "0002")), "f.csv")
    assert (upload.total_rows, upload.blank_lines) == (2, 1)
    first, second = upload.rows(), upload.rows()
    assert next(first).row_number == 1  # a generator: nothing is held beyond the current row
    assert [r.line_number for r in second] == [2, 4]
    assert [r.product_data["sku"] for r in first] == ["CA-VEND001-0002"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", r"object is empty \(0 bytes\)"),
        (b"\n\r\n  \n", "no header row"),
        (b"\xef\xbb\xbf", "no header row"),
    ],
)
def test_empty_inputs_refuse_file(data, reason):
    with pytest.raises(UploadFileError, match=reason):
        parse_upload_csv(data, "f.csv")


def test_header_only_file_has_no_rows():
    parsed = parse_upload_csv(csv_bytes(HEADER), "f.csv")
    assert parsed.rows == []


def test_blank_lines_are_skipped_not_counted():
    parsed = parse_upload_csv(csv_bytes("", HEADER, GOOD, "", GOOD.replace("0001", "0002")), "f.csv")
    assert [r.row_number for r in parsed.rows] == [1, 2]
    assert [r.line_number for r in parsed.rows] == [3, 5]
    assert parsed.blank_lines == 2


def test_unterminated_quote_refuses_file_with_line():
    with pytest.raises(UploadFileError, match=r"line 3: malformed CSV"):
        parse_upload_csv(csv_bytes(HEADER, GOOD, GOOD.replace("Ergonomic", '"never closed')), "f.csv")


def test_nul_byte_refuses_file():
    with pytest.raises(UploadFileError, match=r"line 2: contains a NUL byte"):
        parse_upload_csv(csv_bytes(HEADER, GOOD.replace("Ergonomic", "Ergo\x00")), "f.csv")


def test_duplicate_header_refuses_file():
    with pytest.raises(UploadFileError, match="duplicate header columns: sku"):
        parse_upload_csv(csv_bytes(HEADER + ",SKU", GOOD + ",x"), "f.csv")


def test_unparseable_numbers_keep_raw_text_and_reason():
    row = GOOD.replace("19.99", "$19.99").replace(",150,", ",12.5,")
    [staged] = parse_upload_csv(csv_bytes(HEADER, row), "f.csv").rows
    assert staged.product_data["price"] == "$19.99"
    assert {e.field for e in staged.parse_errors} == {"price", "stock_quantity"}


def test_nan_and_exponent_are_not_decimals():
    for bad in ("NaN", "Infinity", "1e3"):
        [staged] = parse_upload_csv(csv_bytes(HEADER, GOOD.replace("19.99", bad)), "f.csv").rows
        assert staged.parse_errors[0].field == "price", bad


def test_header_is_case_and_space_insensitive():
    header = ",".join(f" {c.upper()} " for c in PRODUCT_COLUMNS)
    [staged] = parse_upload_csv(csv_bytes(header, GOOD), "f.csv").rows
    assert staged.product_data["sku"] == "CA-VEND001-0001"


def test_record_ids_sort_by_row():
    assert record_id(1, 31) == "REC_00001"
    assert record_id(7, 100_000) == "REC_000007"
    assert record_id(99_999, 100_000) < record_id(100_000, 100_000)
