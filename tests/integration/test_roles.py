"""Roles: bi_reader reads marts and nothing else, within its limits; the loader writes raw, not marts."""

from __future__ import annotations

import time
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from ttw.roles import BI_READER, LOADER, ReaderLimits, apply_roles
from ttw.warehouse import connect

PASSWORDS = {BI_READER: "bi-secret-for-tests", LOADER: "loader-secret-for-tests"}


OTHER_DATABASE = "ttw_roles_other"


def _login(target, role: str, dbname: str | None = None):
    return psycopg.connect(
        host=target.host,
        port=target.port,
        dbname=dbname or target.dbname,
        user=role,
        password=PASSWORDS[role],
        autocommit=True,
    )


@pytest.fixture
def roles(clean_target, monkeypatch):
    for name in ("TTW_BI_STATEMENT_TIMEOUT", "TTW_BI_IDLE_IN_TRANSACTION_TIMEOUT", "TTW_BI_CONNECTION_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    with connect(clean_target, autocommit=True) as conn:
        conn.execute("create table raw.secret_rows (contact_phone text, contact_name text)")
        conn.execute("insert into raw.secret_rows values ('13800000000')")
        conn.execute("create table marts.before_roles as select 1 as n")
    logins = apply_roles(clean_target, PASSWORDS)
    assert logins == {"ttw_loader": True, "ttw_transform": False, "bi_reader": True}
    # a publish after the roles were set creates a table: default privileges cover it
    with connect(clean_target, autocommit=True) as conn:
        conn.execute("create table marts.after_roles as select 2 as n")
    yield clean_target
    apply_roles(clean_target, PASSWORDS, ReaderLimits())  # the defaults again, for the tests after
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


@pytest.fixture
def other_database(target):
    """A second database on the server, made before the roles are applied (as ``airflow`` is)."""
    with connect(replace(target, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(OTHER_DATABASE)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(OTHER_DATABASE)))
    yield OTHER_DATABASE
    with connect(replace(target, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(OTHER_DATABASE)))


def test_bi_reader_connects_to_no_other_database_and_has_temp_nowhere(other_database, roles):
    closed = ["postgres", "template1"] + ([other_database] if roles.embedded else [])
    for dbname in closed:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _login(roles, BI_READER, dbname).close()
    with _login(roles, BI_READER) as conn:
        databases = dict(
            conn.execute(
                "select datname, has_database_privilege(datname, 'connect') from pg_database order by 1"
            ).fetchall()
        )
        temporary = conn.execute(
            "select datname from pg_database where has_database_privilege(datname, 'temporary')"
        ).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="temporary tables"):
            conn.execute("create temporary table scratch as select 1 as n")
    assert {name for name, allowed in databases.items() if allowed} == {roles.dbname}
    assert temporary == []
    # the owner (the superuser here) still connects to the databases closed to PUBLIC
    with connect(replace(roles, dbname="postgres")) as conn:
        assert conn.execute("select current_database()").fetchone() == ("postgres",)


def test_bi_reader_has_a_60_second_statement_timeout_by_default(roles):
    with _login(roles, BI_READER) as conn:
        assert conn.execute("show statement_timeout").fetchone() == ("1min",)
        assert conn.execute("select setting, unit from pg_settings where name = 'statement_timeout'").fetchone() == (
            "60000",
            "ms",
        )
        assert conn.execute("show idle_in_transaction_session_timeout").fetchone() == ("5min",)
        assert conn.execute("select rolconnlimit from pg_roles where rolname = current_user").fetchone() == (10,)


def test_a_statement_over_the_configured_timeout_is_cancelled(roles, monkeypatch):
    monkeypatch.setenv("TTW_BI_STATEMENT_TIMEOUT", "1")
    apply_roles(roles, PASSWORDS)
    with _login(roles, BI_READER) as conn:
        assert conn.execute("show statement_timeout").fetchone() == ("1s",)
        assert conn.execute("select n from marts.before_roles cross join pg_sleep(0.2)").fetchone() == (1,)
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("select pg_sleep(5)")
        assert time.monotonic() - started < 4
        # the session goes on: only the statement was cancelled
        assert conn.execute("select n from marts.after_roles").fetchone() == (2,)


def test_a_session_idle_in_a_transaction_is_closed(roles):
    apply_roles(roles, PASSWORDS, ReaderLimits(idle_in_transaction_timeout=0.5))
    conn = _login(roles, BI_READER)
    conn.autocommit = False
    try:
        assert conn.execute("select n from marts.before_roles").fetchone() == (1,)
        time.sleep(1.5)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout, match="idle-in-transaction timeout"):
            conn.execute("select n from marts.before_roles").fetchone()
        assert conn.closed
    finally:
        conn.close()


def test_the_connection_limit_refuses_one_connection_more(roles):
    apply_roles(roles, PASSWORDS, ReaderLimits(connection_limit=3))
    opened = [_login(roles, BI_READER) for _ in range(3)]
    try:
        assert all(conn.execute("select n from marts.before_roles").fetchone() == (1,) for conn in opened)
        with pytest.raises(psycopg.OperationalError, match='too many connections for role "bi_reader"'):
            _login(roles, BI_READER).close()
        opened.pop().close()
        for _ in range(50):  # the server lets the closed backend go a moment after the client
            try:
                opened.append(_login(roles, BI_READER))
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        assert len(opened) == 3
    finally:
        for conn in opened:
            conn.close()


def test_bi_readers_column_browser_lists_marts_only(roles):
    """information_schema shows what the role has a privilege on: no raw column such as contact_name."""
    with _login(roles, BI_READER) as conn:
        schemas = conn.execute(
            "select distinct table_schema from information_schema.columns"
            " where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        contact = conn.execute(
            "select table_schema, table_name from information_schema.columns where column_name like 'contact%%'"
        ).fetchall()
        listed = conn.execute(
            "select schema_name from information_schema.schemata"
            " where schema_name not in ('pg_catalog', 'information_schema') order by 1"
        ).fetchall()
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema not in ('pg_catalog', 'information_schema') order by 1"
        ).fetchall()
        # what PostgreSQL keeps readable by every role: the catalogs name raw's table and columns ...
        catalog = conn.execute(
            "select attname from pg_attribute join pg_class on pg_class.oid = attrelid"
            " join pg_namespace on pg_namespace.oid = relnamespace"
            " where nspname = 'raw' and relname = 'secret_rows' and attnum > 0 order by attnum"
        ).fetchall()
        # ... and not a row of it
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select contact_name from raw.secret_rows")
    assert schemas == [("marts",)]
    assert contact == []
    assert listed == [("marts",)]
    assert tables == [("marts.after_roles",), ("marts.before_roles",)]
    assert catalog == [("contact_phone",), ("contact_name",)]
