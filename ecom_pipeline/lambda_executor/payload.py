"""The JSON event a step function receives, and the S3 pointer used when it would be too large.

Lambda caps an asynchronous invoke at 256 KiB, and a step's `ExecuteStepArgs` grows with the run's known state
(dynamic mapping keys, retry counts), so the executor measures the encoded event and, above the limit, stores
the compressed arguments in S3 and sends only a pointer with their checksum. The event also carries the ids and
deadlines the handler needs to refuse duplicate or stale deliveries before it touches the step.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import asdict, dataclass

PAYLOAD_VERSION = 1
# Lambda's limit for Event invocations is 262,144 bytes; keep headroom for the request envelope.
DEFAULT_INLINE_LIMIT_BYTES = 250_000


class PayloadError(ValueError):
    """A step event that cannot be decoded; the message names the field at fault."""


@dataclass(frozen=True)
class ArgsPointer:
    """Where the compressed, serialized `ExecuteStepArgs` of one invocation live in S3."""

    bucket: str
    key: str
    sha256: str
    size_bytes: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class StepInvocation:
    """One delivery of one step attempt to a step function."""

    invocation_id: str
    run_id: str
    step_key: str
    attempt: int
    launched_at: float
    start_deadline: float
    args_inline: str | None = None  # base64(zlib(serialized ExecuteStepArgs))
    args_pointer: ArgsPointer | None = None

    def to_event(self) -> dict:
        event = asdict(self)
        event["version"] = PAYLOAD_VERSION
        return event

    def encoded_size(self) -> int:
        return len(json.dumps(self.to_event(), separators=(",", ":")).encode())


def compress_args(serialized_args: str) -> bytes:
    return zlib.compress(serialized_args.encode(), level=6)


def decompress_args(blob: bytes) -> str:
    return zlib.decompress(blob).decode()


def inline_args(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def sha256_hex(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def pointer_key(prefix: str, run_id: str, step_key: str, invocation_id: str) -> str:
    """S3 key of an invocation's arguments; step keys may hold `[` `]` from dynamic mapping, so they are hashed."""
    step_digest = hashlib.sha1(step_key.encode()).hexdigest()[:16]
    return f"{prefix.strip('/')}/{run_id}/{step_digest}/{invocation_id}.zlib"


def needs_pointer(invocation: StepInvocation, limit_bytes: int) -> bool:
    return invocation.encoded_size() > limit_bytes


def _required(event: dict, field: str, kind: type) -> object:
    if field not in event:
        raise PayloadError(f"step event is missing field '{field}'")
    value = event[field]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise PayloadError(f"step event field '{field}' must be {kind.__name__}, got {type(value).__name__}")
    return value


def decode_event(event: object) -> StepInvocation:
    """Validate a step function's event; raises PayloadError naming the bad field."""
    if not isinstance(event, dict):
        raise PayloadError(f"step event must be a JSON object, got {type(event).__name__}")
    version = event.get("version")
    if version != PAYLOAD_VERSION:
        raise PayloadError(f"step event field 'version' is {version!r}, this handler reads {PAYLOAD_VERSION}")
    pointer_raw = event.get("args_pointer")
    pointer = None
    if pointer_raw is not None:
        if not isinstance(pointer_raw, dict):
            raise PayloadError("step event field 'args_pointer' must be an object")
        try:
            pointer = ArgsPointer(
                bucket=str(pointer_raw["bucket"]),
                key=str(pointer_raw["key"]),
                sha256=str(pointer_raw["sha256"]),
                size_bytes=int(pointer_raw["size_bytes"]),
            )
        except KeyError as missing:
            raise PayloadError(f"step event field 'args_pointer' is missing {missing}") from None
    args_inline = event.get("args_inline")
    if (args_inline is None) == (pointer is None):
        raise PayloadError("step event must carry exactly one of 'args_inline' and 'args_pointer'")
    if args_inline is not None and not isinstance(args_inline, str):
        raise PayloadError("step event field 'args_inline' must be a string")
    attempt = _required(event, "attempt", int)
    if attempt < 1:
        raise PayloadError(f"step event field 'attempt' must be >= 1, got {attempt}")
    return StepInvocation(
        invocation_id=_required(event, "invocation_id", str),
        run_id=_required(event, "run_id", str),
        step_key=_required(event, "step_key", str),
        attempt=attempt,
        launched_at=_required(event, "launched_at", float),
        start_deadline=_required(event, "start_deadline", float),
        args_inline=args_inline,
        args_pointer=pointer,
    )


def inline_blob(invocation: StepInvocation) -> bytes:
    if invocation.args_inline is None:
        raise PayloadError("step event has no inline arguments")
    try:
        return base64.b64decode(invocation.args_inline.encode(), validate=True)
    except ValueError as err:
        raise PayloadError(f"step event field 'args_inline' is not valid base64: {err}") from None


def verify_pointer_blob(pointer: ArgsPointer, blob: bytes) -> bytes:
    """Guard against a truncated or replaced object: the checksum was taken before upload."""
    actual = sha256_hex(blob)
    if actual != pointer.sha256:
        raise PayloadError(
            f"step arguments at {pointer.uri} have sha256 {actual}, the event expects {pointer.sha256}"
        )
    return blob
