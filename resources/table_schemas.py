"""The columns of a PostgreSQL table as Dagster's `TableSchema`, for `dagster/column_schema` metadata.

Read from the catalog at run time rather than written down in code, so the UI shows the table as it is
(a migration that adds a column shows up on the next materialization) and nothing has to be kept in step.
"""

from typing import Any

from dagster import TableColumn, TableColumnConstraints, TableSchema

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, col_description(a.attrelid, a.attnum)
FROM pg_attribute a
WHERE a.attrelid = to_regclass(
        CASE WHEN %(schema)s::text IS NULL THEN quote_ident(%(table)s)
             ELSE quote_ident(%(schema)s) || '.' || quote_ident(%(table)s) END)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def table_schema(conn: Any, table: str, schema: str | None = None) -> TableSchema:
    """`table`'s columns in table order (`schema` unset: as the connection's search_path finds it); no
    columns when there is no such table."""
    with conn.cursor() as cur:
        cur.execute(_COLUMNS, {"schema": schema, "table": table})
        rows = cur.fetchall()
    return TableSchema(
        columns=[
            TableColumn(
                name,
                type_name,
                description=comment,
                constraints=TableColumnConstraints(nullable=not not_null),
            )
            for name, type_name, not_null, comment in rows
        ]
    )
