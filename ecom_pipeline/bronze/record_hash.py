"""`_record_hash`: MD5 of a record's canonical form, for change detection between loads.

The hash depends only on the record's values, never on how or when it was read, so the same record hashes
the same in full and incremental loads and in every run. Bronze metadata columns are never part of it.

Database rows (canonical form "pg-row-v1"): the PostgreSQL text form of the row constructor over the
table's columns in ascending order of name (Unicode code points), `ROW(c1, c2, ...)::text`, e.g.
`(12.50,,"a b",t)`, hashed by PostgreSQL itself (`md5(...)`, UTF-8 bytes) in the COPY that extracts the rows,
so millions of rows cost the extracting process nothing. The form is exact and unambiguous: every value is
its type's output function text (numeric keeps its scale, jsonb its normalised text), NULL is empty, and a
value that is empty or contains a quote, backslash, parenthesis, comma or whitespace is double-quoted with
quotes and backslashes doubled. Output functions depend on a few session settings, so extraction pins them
(`HASH_SESSION_SETTINGS`). `pg_row_text` is the same rule in Python, used to verify the database's hashes.

API records (canonical form "json-v1"): `json.dumps(record, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` as UTF-8, i.e. the record exactly as received, keys sorted, no whitespace.
"""

import hashlib
import json
from typing import Any

# Session settings under which PostgreSQL's output functions print the canonical text of every value.
HASH_SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET datestyle = 'ISO, YMD'",
    "SET intervalstyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
    "SET client_encoding = 'UTF8'",
)

_QUOTE_TRIGGERS = frozenset('"\\(),') | frozenset(" \t\n\r\v\f")


def hash_column_order(column_names: list[str]) -> list[str]:
    """The order columns enter the row constructor: ascending by name, so column order does not matter."""
    return sorted(column_names)


def pg_row_text(values: list[str | None]) -> str:
    """PostgreSQL's `record_out` for values given as their text form (None = NULL), in hash column order."""
    out = []
    for value in values:
        if value is None:
            out.append("")
        elif value == "" or any(ch in _QUOTE_TRIGGERS for ch in value):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '""') + '"')
        else:
            out.append(value)
    return "(" + ",".join(out) + ")"


def hash_pg_row(values: list[str | None]) -> str:
    return hashlib.md5(pg_row_text(values).encode("utf-8"), usedforsecurity=False).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_json_record(record: dict[str, Any]) -> str:
    """MD5 hex digest of an API record's canonical JSON form."""
    return hashlib.md5(canonical_json(record).encode("utf-8"), usedforsecurity=False).hexdigest()
