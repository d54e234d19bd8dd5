import psycopg2
import pytest
from psycopg2 import sql

from ecom_pipeline.errors import ConfigurationError
from resources.rds import DatabaseUnavailableError, RdsPostgresResource
from resources.secrets import SecretsManagerResource


@pytest.fixture
def rds(make_secret, source_creds) -> RdsPostgresResource:
    return RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=make_secret(source_creds))


@pytest.fixture
def scratch_table(rds, unique):
    table = sql.Identifier(f"rds_test_{unique}")
    with rds.transaction() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, note text)").format(table))
    yield table
    with rds.transaction() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE {}").format(table))


def _count(rds: RdsPostgresResource, table) -> int:
    with rds.transaction() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
        return cur.fetchone()[0]


def test_transaction_rolls_back_everything_on_error(rds, scratch_table) -> None:
    with pytest.raises(psycopg2.errors.UniqueViolation):
        with rds.transaction() as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("INSERT INTO {} VALUES (1, 'a')").format(scratch_table))
            cur.execute(sql.SQL("INSERT INTO {} VALUES (1, 'duplicate')").format(scratch_table))
    assert _count(rds, scratch_table) == 0
    with rds.transaction() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(scratch_table), (2, "Zoë"))
    assert _count(rds, scratch_table) == 1


def test_stream_query_yields_bounded_batches(rds, scratch_table) -> None:
    with rds.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("INSERT INTO {} SELECT g, 'n' || g FROM generate_series(1, 25) g").format(scratch_table)
        )
    batches = list(
        rds.stream_query(sql.SQL("SELECT id, note FROM {} ORDER BY id").format(scratch_table), None, 10)
    )
    assert [len(rows) for _, rows in batches] == [10, 10, 5]
    assert batches[0][0] == ["id", "note"]
    assert batches[-1][1][-1] == (25, "n25")


def test_wrong_password_fails_fast_without_the_password(make_secret, source_creds) -> None:
    secret = make_secret({**source_creds, "password": "wrong-Sup3rSecret"})
    with pytest.raises(ConfigurationError) as info:
        RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=secret).connect()
    assert secret in str(info.value)
    assert "Sup3rSecret" not in str(info.value)


def test_unreachable_database_names_host_and_port(make_secret, source_creds) -> None:
    secret = make_secret({**source_creds, "port": 1})
    with pytest.raises(DatabaseUnavailableError, match=r"127\.0\.0\.1:1/"):
        RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=secret).connect()


def test_secret_missing_keys_is_named(make_secret) -> None:
    secret = make_secret({"username": "u", "password": "p"})
    with pytest.raises(ConfigurationError, match="lacks keys: host, port, dbname"):
        RdsPostgresResource(secrets=SecretsManagerResource(), secret_name=secret).connect()
