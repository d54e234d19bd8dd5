"""The step event's encoding: inline vs S3 pointer, and clear errors on malformed events."""

import os

import pytest

from ecom_pipeline.lambda_executor.payload import (
    DEFAULT_INLINE_LIMIT_BYTES,
    ArgsPointer,
    PayloadError,
    StepInvocation,
    compress_args,
    decode_event,
    decompress_args,
    inline_args,
    inline_blob,
    needs_pointer,
    pointer_key,
    sha256_hex,
    verify_pointer_blob,
)


def _invocation(**overrides) -> StepInvocation:
    fields = dict(
        invocation_id="abc",
        run_id="run-1",
        step_key="a",
        attempt=1,
        launched_at=100.0,
        start_deadline=220.0,
        args_inline=inline_args(compress_args('{"x": 1}')),
    )
    fields.update(overrides)
    return StepInvocation(**fields)


def test_event_round_trips_and_inline_args_decompress():
    invocation = _invocation()
    decoded = decode_event(invocation.to_event())
    assert decoded == invocation
    assert decompress_args(inline_blob(decoded)) == '{"x": 1}'


def test_pointer_event_round_trips():
    blob = compress_args("payload")
    pointer = ArgsPointer("bucket", "lambda-executor/payloads/r/k/i.zlib", sha256_hex(blob), len(blob))
    invocation = _invocation(args_inline=None, args_pointer=pointer)
    decoded = decode_event(invocation.to_event())
    assert decoded.args_pointer == pointer
    assert decoded.args_pointer.uri == "s3://bucket/lambda-executor/payloads/r/k/i.zlib"
    assert verify_pointer_blob(pointer, blob) == blob


def test_pointer_checksum_mismatch_names_the_object():
    pointer = ArgsPointer("b", "k", sha256_hex(b"expected"), 8)
    with pytest.raises(PayloadError, match="s3://b/k"):
        verify_pointer_blob(pointer, b"tampered")


def test_args_beyond_the_invoke_limit_need_a_pointer():
    # Arguments that compress badly (many distinct dynamic mapping keys): 500 KB of hex, ~250 KB compressed.
    big = os.urandom(250_000).hex()
    invocation = _invocation(args_inline=inline_args(compress_args(big)))
    assert needs_pointer(invocation, DEFAULT_INLINE_LIMIT_BYTES)
    assert not needs_pointer(_invocation(), DEFAULT_INLINE_LIMIT_BYTES)


def test_pointer_key_hashes_dynamic_step_keys():
    key = pointer_key("/lambda-executor/payloads/", "run-1", "fan_out[part_1]", "inv")
    assert key.startswith("lambda-executor/payloads/run-1/")
    assert key.endswith("/inv.zlib")
    assert "[" not in key


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("run_id"), "missing field 'run_id'"),
        (lambda e: e.update(attempt="1"), "field 'attempt' must be int"),
        (lambda e: e.update(attempt=0), "'attempt' must be >= 1"),
        (lambda e: e.update(version=99), "field 'version' is 99"),
        (lambda e: e.update(args_inline=None), "exactly one of 'args_inline' and 'args_pointer'"),
        (lambda e: e.update(args_pointer="s3://b/k"), "'args_pointer' must be an object"),
        (
            lambda e: e.update(args_inline=None, args_pointer={"bucket": "b"}),
            "'args_pointer' is missing 'key'",
        ),
    ],
)
def test_malformed_events_name_the_field(mutate, message):
    event = _invocation().to_event()
    mutate(event)
    with pytest.raises(PayloadError, match=message):
        decode_event(event)


def test_non_object_event_is_rejected():
    with pytest.raises(PayloadError, match="must be a JSON object, got list"):
        decode_event([1, 2])


def test_bad_base64_is_reported():
    with pytest.raises(PayloadError, match="not valid base64"):
        inline_blob(_invocation(args_inline="***"))
