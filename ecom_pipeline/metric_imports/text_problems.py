"""Problems with a metric file's text rather than its records: bytes that are not UTF-8, JSON that does not
parse, NaN or Infinity. Each is located at the top-level array element it is in, so the rejection can name the
record even though no record object could be built."""

import json

from ecom_pipeline.metric_imports.rejections import (
    INVALID_JSON,
    INVALID_RECORD,
    NOT_UTF8,
    MetricFileRejected,
    Rejection,
)


class NonFiniteNumber(ValueError):
    """NaN / Infinity: Python's json accepts them, JSON and double-precision metrics should not."""

    def __init__(self, constant: str):
        super().__init__(constant)
        self.constant = constant


def reject_constant(constant: str) -> float:
    """`json.loads(parse_constant=...)`: refuse NaN and Infinity where they are read."""
    raise NonFiniteNumber(constant)


def decode_utf8(file_key: str, payload: bytes) -> str:
    """The text of a file (a UTF-8 byte-order mark dropped), or MetricFileRejected naming the bad byte's offset
    and the record it is in."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Locate the record around the bad byte in a lossy decode of the text, for the reason.
        chars_before = len(payload[: exc.start].decode("utf-8", errors="replace"))
        index = _record_index_at(payload.decode("utf-8", errors="replace"), chars_before)
        raise MetricFileRejected(
            Rejection(
                file_key=file_key,
                reason_code=NOT_UTF8,
                message=(
                    f"{file_key}: byte 0x{payload[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
                    + (f" (in record {index})" if index is not None else "")
                ),
                record_index=index,
            )
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def json_rejection(file_key: str, text: str, exc: Exception) -> Rejection:
    """The rejection for text `json.loads` refused (`exc`: JSONDecodeError or NonFiniteNumber), naming the
    record the problem is in."""
    if isinstance(exc, NonFiniteNumber):
        index = _first_record_containing(text, exc.constant)
        return Rejection(
            file_key=file_key,
            reason_code=INVALID_RECORD,
            message=f"{file_key}: record {index} field 'value': {exc.constant} is not a finite number",
            record_index=index,
            field="value",
            invalid_records=1,
        )
    assert isinstance(exc, json.JSONDecodeError)
    index = _record_index_at(text, exc.pos)
    where = f" in record {index}" if index is not None else ""
    return Rejection(
        file_key=file_key,
        reason_code=INVALID_JSON,
        message=f"{file_key}: invalid JSON{where}: {exc.msg} at line {exc.lineno} column {exc.colno}",
        record_index=index,
    )


def _record_index_at(text: str, position: int) -> int | None:
    """Index of the top-level array element at `position`; None when the text is not an array there."""
    decoder = json.JSONDecoder()
    cursor = _skip_whitespace(text, 0)
    if cursor >= len(text) or text[cursor] != "[":
        return None
    cursor += 1
    index = 0
    while True:
        cursor = _skip_whitespace(text, cursor)
        try:
            _, end = decoder.raw_decode(text, cursor)
        except json.JSONDecodeError:
            return index  # this element itself does not parse
        if position < end:
            return index
        cursor = _skip_whitespace(text, end)
        if cursor >= len(text) or text[cursor] == "]":
            return None  # the problem lies after the array
        if text[cursor] != ",":
            return index + 1  # a missing comma: the next element is where parsing broke
        cursor += 1
        index += 1


def _first_record_containing(text: str, constant: str) -> int | None:
    return _record_index_at(text, text.find(constant))


def _skip_whitespace(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
