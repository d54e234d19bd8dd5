"""`primary_key_unique` on the live stack, through the disk-spilling check: integer and composite keys."""

from psycopg2 import sql

from assets.bronze.checks import PRIMARY_KEY_CHECK
from tests.assets.bronze.test_rds import ts


def test_repeated_keys_fail_the_check_naming_them(bronze_sandbox):
    sandbox = bronze_sandbox
    sandbox.execute(
        sql.SQL(
            "CREATE TABLE {} (id bigint, part text, created_at timestamptz, updated_at timestamptz)"
        ).format(sandbox.table("dupes"))
    )
    sandbox.execute(
        sql.SQL(
            "INSERT INTO {} SELECT g %% 5000, CASE WHEN g = 7 THEN 'b' ELSE 'a' END, %s, %s"
            " FROM generate_series(0, 5001) g"
        ).format(sandbox.table("dupes")),
        (ts("2026-06-10T01:00:00"), ts("2026-06-10T02:00:00")),
    )
    by_id = sandbox.entity("by_id", table="dupes")
    composite = sandbox.entity("composite", table="dupes", primary_key=("id", "part"))
    result = sandbox.run([by_id, composite], "2026-06-10", part_max_rows=1000, row_group_rows=500)
    assert result.success
    outcomes = {
        e.asset_key.path[0]: (e.passed, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()
        if e.check_name == PRIMARY_KEY_CHECK
    }
    passed, meta = outcomes[by_id.asset_name]
    assert not passed and meta["duplicated_keys"] == 2
    assert sorted(e["id"] for e in meta["examples"]) == [0, 1]
    passed, meta = outcomes[composite.asset_name]
    # (0, 'a') and (1, 'a') repeat; row 7 differs in `part`, so its key is unique.
    assert not passed and meta["duplicated_keys"] == 2
    assert sorted((e["id"], e["part"]) for e in meta["examples"]) == [(0, "a"), (1, "a")]
