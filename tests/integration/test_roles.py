"""Roles: bi_reader reads marts and nothing else; the loader writes raw, not marts."""

from __future__ import annotations

import psycopg
import pytest

from ttw.roles import BI_READER, LOADER, apply_roles
from ttw.warehouse import connect

PASSWORDS = {BI_READER: "bi-secret-for-tests", LOADER: "loader-secret-for-tests"}


def _login(target, role: str):
    return psycopg.connect(
        host=target.host,
        port=target.port,
        dbname=target.dbname,
        user=role,
        password=PASSWORDS[role],
        autocommit=True,
    )


@pytest.fixture
def roles(clean_target):
    with connect(clean_target, autocommit=True) as conn:
        conn.execute("create table raw.secret_rows (contact_phone text)")
        conn.execute("insert into raw.secret_rows values ('13800000000')")
        conn.execute("create table marts.before_roles as select 1 as n")
    logins = apply_roles(clean_target, PASSWORDS)
    assert logins == {"ttw_loader": True, "ttw_transform": False, "bi_reader": True}
    # a publish after the roles were set creates a table: default privileges cover it
    with connect(clean_target, autocommit=True) as conn:
        conn.execute("create table marts.after_roles as select 2 as n")
    yield clean_target
    with connect(clean_target, autocommit=True) as conn:
        conn.execute("drop table if exists raw.secret_rows, marts.before_roles, marts.after_roles")


@pytest.mark.parametrize(
    "statement",
    [
        "select * from raw.secret_rows",
        "select * from ops.load_batches",
        "select * from marts_build.dim_date",
        "insert into marts.after_roles values (3)",
        "update marts.before_roles set n = 0",
        "delete from marts.after_roles",
        "truncate marts.after_roles",
        "create table marts.mine (n int)",
        "create table public.mine (n int)",
        "create temporary table mine (n int)",
        "create function public.f() returns int language sql as 'select 1'",
        "create function marts.f() returns int language sql as 'select 1'",
        "create schema mine",
        "drop table marts.before_roles",
        "select * from ops.load_rejects",
        "select pg_read_file('/etc/hostname')",
        "copy marts.before_roles to '/tmp/bi_reader_copy.csv'",
        "set role ttw_loader",
    ],
)
def test_bi_reader_can_do_nothing_but_read_marts(roles, statement):
    with _login(roles, BI_READER) as conn:
        assert conn.execute("select n from marts.before_roles").fetchone() == (1,)
        assert conn.execute("select n from marts.after_roles").fetchone() == (2,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_loader_writes_raw_not_marts_and_reapplying_is_harmless(roles):
    apply_roles(roles, PASSWORDS)  # idempotent
    with _login(roles, LOADER) as conn:
        conn.execute("insert into raw.secret_rows values ('13900000000')")
        assert conn.execute("select count(*) from raw.secret_rows").fetchone() == (2,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.before_roles")


def test_a_role_without_password_cannot_log_in(roles):
    apply_roles(roles, {LOADER: PASSWORDS[LOADER]})
    with pytest.raises(psycopg.OperationalError, match=r"password authentication failed|not permitted to log in"):
        _login(roles, BI_READER).close()
    apply_roles(roles, PASSWORDS)
