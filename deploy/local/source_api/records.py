"""Reading `external.payments` / `external.shipments` as the payments and shipments services would serve them:
ordered by (updated_at, id), keyset-paginated, JSON-ready (ISO-8601 UTC timestamps, decimals as strings)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor as Cursor

ENDPOINTS = ("payments", "shipments")  # each served from the table of that name in the API's schema
DEFAULT_SCHEMA = "external"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000


class BadRequest(ValueError):
    """A query parameter the API refuses (answered with 400 and this message)."""


@dataclass(frozen=True)
class PageRequest:
    since: datetime | None
    limit: int
    after: tuple[datetime, str] | None  # keyset position from the page token


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_page_token: str | None


def parse_timestamp(value: str, name: str) -> datetime:
    """ISO-8601; a naive value is taken as UTC. A '+' that arrived unencoded (as a space) is repaired."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO-8601 timestamp, got {value[:64]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_page_request(query: dict[str, list[str]], honour_since: bool) -> PageRequest:
    """The request's `since`, `limit` and `page_token`; `since` is dropped when the endpoint ignores it."""

    def single(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    since_text, limit_text, token = single("since"), single("limit"), single("page_token")
    since = parse_timestamp(since_text, "since") if since_text and honour_since else None
    try:
        limit = int(limit_text) if limit_text else DEFAULT_LIMIT
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {limit_text[:32]!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return PageRequest(since=since, limit=limit, after=decode_token(token) if token else None)


def encode_token(updated_at: datetime, record_id: str) -> str:
    raw = json.dumps({"u": updated_at.astimezone(UTC).isoformat(), "i": record_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return datetime.fromisoformat(raw["u"]), str(raw["i"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadRequest("page_token is not a token this API issued") from None


def fetch_page(cur: Cursor, endpoint: str, request: PageRequest, schema: str = DEFAULT_SCHEMA) -> Page:
    """One page in (updated_at, id) order; a next token only when more rows follow."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if request.since is not None:
        conditions.append(sql.SQL("updated_at >= %s"))
        params.append(request.since)
    if request.after is not None:
        conditions.append(sql.SQL("(updated_at, id) > (%s, %s)"))
        params.extend(request.after)
    statement = sql.SQL("SELECT * FROM {} {} ORDER BY updated_at, id LIMIT %s").format(
        sql.Identifier(schema, endpoint),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL(""),
    )
    cur.execute(statement, [*params, request.limit + 1])
    columns = [d.name for d in cur.description]
    rows = cur.fetchall()
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    records = [{c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    token = None
    if more:
        last = dict(zip(columns, rows[-1], strict=True))
        token = encode_token(last["updated_at"], last["id"])
    return Page(records=records, next_page_token=token)


def json_value(value: Any) -> Any:
    """Decimals as strings (no float rounding of money), timestamps as ISO-8601 UTC with `Z`."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None)
        return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value
