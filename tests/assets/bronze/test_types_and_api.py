"""Awkward source types survive into Parquet; an API that ignores `since` is filtered client-side."""

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import boto3
import pyarrow as pa
from psycopg2 import sql

from ecom_pipeline.bronze.record_hash import HASH_SESSION_SETTINGS, hash_column_order, hash_pg_row
from tests.assets.bronze.sandbox import (
    check_outcomes,
    materialization_metadata,
)

AWKWARD_DDL = '''
CREATE TABLE {table} (
    id bigint PRIMARY KEY,
    "Amount ""EUR""" numeric(14, 4),
    unconstrained numeric,
    at timestamptz,
    local_at timestamp,
    day date,
    doc jsonb,
    "label, with comma" text,
    flag boolean,
    ratio double precision,
    tags text[],
    code char(3),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
)
'''
AWKWARD_ROWS = [
    (
        1,
        Decimal("-1234567890.1234"),
        Decimal("3.14159265358979"),
        datetime(2026, 6, 10, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 6, 10, 8, 0),
        date(1999, 12, 31),
        json.dumps({"nested": {"ü": [1, 2.5, None]}, "quote": 'say "hi"'}),
        'Zoë, 北京 "quoted"\nsecond line',
        True,
        0.1,
        ["a", "b,c"],
        "ab",
        datetime(2026, 6, 10, 1, tzinfo=UTC),
        datetime(2026, 6, 10, 2, tzinfo=UTC),
    ),
    (2, None, None, None, None, None, None, "", None, None, None, None)
    + (datetime(2026, 6, 10, 1, tzinfo=UTC), datetime(2026, 6, 10, 3, tzinfo=UTC)),
]


def test_awkward_types_and_quoted_identifiers_survive(bronze_sandbox):
    sandbox = bronze_sandbox
    table_name = 'Awkward "Table"'
    sandbox.execute(sql.SQL(AWKWARD_DDL).format(table=sandbox.table(table_name)))
    for row in AWKWARD_ROWS:
        sandbox.execute(
            sql.SQL("INSERT INTO {} VALUES ({})").format(
                sandbox.table(table_name), sql.SQL(", ").join([sql.Placeholder()] * len(row))
            ),
            row,
        )
    entity = sandbox.entity("awkward", table=table_name)
    result = sandbox.run([entity], "2026-06-10")
    assert result.success
    assert all(check_outcomes(result).values())

    table = sandbox.read(entity).sort_by("id")
    schema = table.schema
    assert str(schema.field('Amount "EUR"').type) == "decimal128(14, 4)"
    assert str(schema.field("unconstrained").type) == "decimal128(38, 18)"
    assert str(schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("local_at").type) == "timestamp[us]"
    first, second = table.to_pylist()
    assert first['Amount "EUR"'] == Decimal("-1234567890.1234")
    assert first["unconstrained"] == Decimal("3.14159265358979")
    assert first["at"] == datetime(2026, 6, 10, 12, 30, 15, 123456, tzinfo=UTC)
    assert first["local_at"] == datetime(2026, 6, 10, 8, 0)
    assert first["day"] == date(1999, 12, 31)
    assert json.loads(first["doc"]) == {"nested": {"ü": [1, 2.5, None]}, "quote": 'say "hi"'}
    assert first["label, with comma"] == 'Zoë, 北京 "quoted"\nsecond line'
    assert first["flag"] is True and first["ratio"] == 0.1
    assert first["tags"] == ["a", "b,c"] and first["code"] == "ab "
    # NULL stays NULL and the empty string stays empty.
    assert second["label, with comma"] == ""
    assert all(second[c] is None for c in ('Amount "EUR"', "at", "doc", "flag", "tags"))
    assert first["_source_system"] == "rds"
    # PostgreSQL's hashes are the documented canonical form: recompute them from the values' text.
    names = hash_column_order([n for n in table.column_names if not n.startswith("_")])
    texts = sandbox.execute(
        sql.SQL("SELECT {} FROM {} ORDER BY id").format(
            # concat() prints a value with its type's output function, as ROW() does (::text would trim char(n)).
            sql.SQL(", ").join(
                sql.SQL("CASE WHEN {c} IS NOT NULL THEN concat({c}) END").format(c=sql.Identifier(n))
                for n in names
            ),
            sandbox.table(table_name),
        ),
        session=HASH_SESSION_SETTINGS,
    )
    assert table["_record_hash"].to_pylist() == [hash_pg_row(list(row)) for row in texts]


BINARY_AND_ARRAYS_DDL = """
CREATE TABLE {table} (
    id bigint PRIMARY KEY,
    payload bytea,
    counts int[],
    big bigint[],
    labels text[],
    amounts numeric(10, 2)[],
    flags boolean[],
    seen timestamptz[],
    grid int[][],
    waits interval[],
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
)
"""


def test_bytea_and_one_dimensional_arrays_land_as_binary_and_lists_on_a_day_before_2026(bronze_sandbox):
    """The first partition is a setting (2020-01-01 by default), so a 2025 day materializes; bytea and
    1-D arrays keep their types, nested arrays and arrays of unmapped types keep their text form."""
    sandbox = bronze_sandbox
    sandbox.execute(sql.SQL(BINARY_AND_ARRAYS_DDL).format(table=sandbox.table("blobs")))
    day = datetime(2025, 6, 15, 10, tzinfo=UTC)
    rows = [
        (1, b"\x00\xff\n\\ \"", [1, None, -3], [2**40], ["a", "b,c", "NULL", None, "", 'say "hi"', "x\\y"],
         [Decimal("1.50"), None, Decimal("-2.25")], [True, False, None], [day, None], [[1, 2], [3, 4]],
         [timedelta(days=1, hours=2)], day, day),
        (2, b"", [], None, None, None, None, None, None, None, day, day),
        (3, None, None, [], [], [], [], [], None, [], day, day),
    ]  # fmt: skip
    for row in rows:
        sandbox.execute(
            sql.SQL("INSERT INTO {} VALUES ({})").format(
                sandbox.table("blobs"), sql.SQL(", ").join([sql.Placeholder()] * len(row))
            ),
            row,
        )
    entity = sandbox.entity("blobs")
    result = sandbox.run([entity], "2025-06-15")
    assert result.success
    assert all(check_outcomes(result).values())

    table = sandbox.read(entity, "ingestion_date=2025-06-15/").sort_by("id")

    def element(name: str) -> str:
        kind = table.schema.field(name).type
        assert pa.types.is_list(kind), (name, kind)
        return str(kind.value_type)

    assert table.schema.field("payload").type == pa.binary()
    assert element("counts") == "int32" and element("big") == "int64" and element("labels") == "string"
    assert element("amounts") == "decimal128(10, 2)" and element("flags") == "bool"
    assert element("seen") == "timestamp[us, tz=UTC]"
    types = {name: str(table.schema.field(name).type) for name in table.column_names}
    assert types["grid"] == "string" and types["waits"] == "string"
    written = [{k: v for k, v in row.items() if not k.startswith("_")} for row in table.to_pylist()]
    source = sandbox.execute(
        sql.SQL("SELECT id, payload, counts, big, labels, amounts, flags, seen FROM {} ORDER BY id").format(
            sandbox.table("blobs")
        )
    )
    for landed, expected in zip(written, source, strict=True):
        names = ("id", "payload", "counts", "big", "labels", "amounts", "flags", "seen")
        values = dict(zip(names, expected, strict=True))
        values["payload"] = None if values["payload"] is None else bytes(values["payload"])
        assert {name: landed[name] for name in names} == values
    assert written[0]["grid"] == "{{1,2},{3,4}}"
    assert written[0]["waits"] == '{"1 day 02:00:00"}' and written[2]["waits"] == "{}"


class _IgnoresSince(BaseHTTPRequestHandler):
    """A payments API that ignores `since`, pages by 2 and answers the first request with 429."""

    records: list[dict] = []
    calls: list[dict] = []
    api_key = ""

    def do_GET(self) -> None:  # noqa: N802
        query = parse_qs(urlparse(self.path).query)
        type(self).calls.append(query)
        if self.headers.get("x-api-key") != self.api_key:
            self._reply(401, {"message": "Forbidden"})
        elif len(type(self).calls) == 1:
            self._reply(429, {"message": "slow down"})
        else:
            offset = int(query.get("page_token", ["0"])[0])
            page = self.records[offset : offset + 2]
            token = str(offset + 2) if offset + 2 < len(self.records) else None
            self._reply(200, {"data": page, "next_page_token": token})

    def _reply(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


def test_api_that_ignores_since_is_windowed_client_side(bronze_sandbox):
    sandbox = bronze_sandbox
    records = [
        {
            "id": "p1",
            "amount": "10.00",
            "created_at": "2026-06-01T10:00:00Z",
            "updated_at": "2026-06-01T10:00:00Z",
        },
        {
            "id": "p2",
            "amount": "5.50",
            "created_at": "2026-06-10T00:00:00Z",
            "updated_at": "2026-06-10T00:00:00Z",
        },
        {
            "id": "p3",
            "amount": None,
            "created_at": "2026-06-10T09:00:00Z",
            "updated_at": "2026-06-11T00:00:00Z",
        },
        {
            "id": "p4",
            "amount": "1.00",
            "created_at": "2026-06-11T01:00:00+02:00",
            "updated_at": "2026-06-11T05:00:00Z",
        },
        {
            "id": "p5",
            "amount": "7.00",
            "created_at": "2026-06-12T01:00:00Z",
            "updated_at": "2026-06-12T01:00:00Z",
        },
    ]
    handler = type("Handler", (_IgnoresSince,), {"records": records, "calls": [], "api_key": "k" * 24})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secrets = boto3.client("secretsmanager")
    secret_name = f"test/bronze-api-{sandbox.unique}"
    secrets.create_secret(Name=secret_name, SecretString=json.dumps({"api_key": handler.api_key}))
    try:
        sandbox.api_urls = {"payments": f"http://127.0.0.1:{server.server_port}/payments"}
        sandbox.api_key_secret = secret_name
        entity = sandbox.entity("payments", source="api", endpoint="payments", table=None)

        first = sandbox.run([entity], "2026-06-10")
        assert first.success
        assert sorted(sandbox.read(entity, "ingestion_date=2026-06-10/")["id"].to_pylist()) == ["p1", "p2"]
        assert handler.calls[0]["since"] == ["1970-01-01T00:00:00+00:00"]  # first run: from the epoch
        assert len(handler.calls) >= 4  # the 429 was retried, then three pages

        second = sandbox.run([entity], "2026-06-11")
        assert second.success
        day = sandbox.read(entity, "ingestion_date=2026-06-11/")
        assert sorted(day["id"].to_pylist()) == ["p3", "p4"]  # p5 is tomorrow's, p1/p2 were read already
        assert set(day["_source_system"].to_pylist()) == {"api"}
        keys = sandbox.keys(f"data/bronze/{entity.name}/ingestion_date=2026-06-11/")
        # p4 was created 2026-06-10 23:00 UTC: event dates are UTC dates.
        assert {k.split("event_date=")[1][:10] for k in keys if "event_date=" in k} == {"2026-06-10"}
        assert all(check_outcomes(second).values())
        meta = materialization_metadata(second, entity)
        assert meta["rows"] == 2 and meta["checkpoint_after"] == "2026-06-12T00:00:00+00:00"
    finally:
        server.shutdown()
        secrets.delete_secret(SecretId=secret_name, ForceDeleteWithoutRecovery=True)
