"""`table_schema` against the stack's PostgreSQL: the columns as the catalog has them, in table order."""

import os
from collections.abc import Iterator

import psycopg2
import pytest
from psycopg2 import sql

from resources.table_schemas import table_schema


@pytest.fixture
def sandbox(stack_env, unique) -> Iterator[tuple]:
    """A connection with a private schema holding one table; rolled back (schema and all) afterwards."""
    connection = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"])
    schema = f"test_table_schema_{unique}"
    with connection.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL(
                'CREATE TABLE {}."Odd Name" (id bigint PRIMARY KEY, price numeric(12, 2), gone text, note text)'
            ).format(sql.Identifier(schema))
        )
        cur.execute(sql.SQL('ALTER TABLE {}."Odd Name" DROP COLUMN gone').format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("COMMENT ON COLUMN {}.{} IS 'free text'").format(
                sql.Identifier(schema, "Odd Name"), sql.Identifier("note")
            )
        )
    yield connection, schema
    connection.rollback()
    connection.close()


def test_columns_types_nullability_and_comments_in_table_order(sandbox):
    conn, schema = sandbox
    columns = table_schema(conn, "Odd Name", schema).columns
    assert [(c.name, c.type, c.constraints.nullable, c.description) for c in columns] == [
        ("id", "bigint", False, None),
        ("price", "numeric(12,2)", True, None),
        ("note", "text", True, "free text"),
    ]


def test_without_a_schema_the_search_path_finds_the_table_and_an_unknown_table_has_no_columns(sandbox):
    conn, schema = sandbox
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    assert [c.name for c in table_schema(conn, "Odd Name").columns] == ["id", "price", "note"]
    assert table_schema(conn, "no_such_table", schema).columns == []
