"""Database roles: who may write which layer, and what BI may read.

- ``ttw_loader`` writes ``raw`` and ``ops`` (the ingest DAGs);
- ``ttw_transform`` reads ``raw``, writes ``ops`` and every dbt schema, and publishes
  ``marts`` (dbt, audit, publish);
- ``bi_reader`` may SELECT the tables of ``marts`` and nothing else: no other schema, no
  writes, no temporary tables, no functions of its own, no other database of the server.
  Default privileges make every table a later publish creates readable without running
  this again. It is held to :class:`ReaderLimits`: a statement timeout, an idle-in-
  transaction timeout and a connection limit, so one dashboard cannot hold the server.

Other databases. PostgreSQL gives PUBLIC ``CONNECT`` and ``TEMPORARY`` on every database,
and a privilege held through PUBLIC cannot be revoked from one role, so they are revoked
from PUBLIC: on the maintenance databases (``postgres``, ``template0``, ``template1``)
always, and on every other database of the embedded server (the project owns that whole
server: ``airflow``, say), wherever the applying role owns the database or is superuser.
Owners and superusers keep their access. On an external server other applications'
databases are left alone; any the reader can still connect to are logged as a warning.
A database created later starts with PostgreSQL's defaults again: run this again after.

What stays visible to ``bi_reader``. The system catalogs are readable by every role, and
PostgreSQL has no supported way to hide them: ``pg_namespace``, ``pg_class`` and
``pg_attribute`` still name every schema, table and column of the database (not their
rows), ``pg_proc`` the functions and their source, ``pg_views`` the views' definitions,
``pg_roles`` and ``pg_database`` the roles and databases. ``information_schema`` shows
only what the role has a privilege on: its ``columns`` view lists the columns of
``marts`` (and the catalogs' own) and nothing of ``raw``, ``staging`` or ``ops``, so a BI
tool browsing columns through it finds no raw column such as ``contact_name``. Schema
``public`` holds nothing, and PUBLIC loses USAGE on it too, so it is not listed either.
The limits are the role's defaults: a session may ``SET statement_timeout`` itself (the
parameter is per user in PostgreSQL); the connection limit it cannot change.

:func:`apply_roles` is idempotent: re-running it sets the same grants (and the passwords
it is given). A role without a password is NOLOGIN: it can be granted to login roles, and
nobody logs in as it.
"""

from __future__ import annotations

import logging

from psycopg import sql
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ttw.warehouse import BUILD_SCHEMA, SCHEMAS, Target, connect

log = logging.getLogger(__name__)

LOADER, TRANSFORM, BI_READER = "ttw_loader", "ttw_transform", "bi_reader"
LOADER_SCHEMAS = ("raw", "ops")
TRANSFORM_SCHEMAS = ("ops", "staging", "intermediate", "snapshots", BUILD_SCHEMA, "marts")
ALL_SCHEMAS = SCHEMAS
MAINTENANCE_DATABASES = ("postgres", "template0", "template1")


class ReaderLimits(BaseSettings):
    """What one ``bi_reader`` session may take, from ``TTW_BI_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTW_BI_", extra="ignore")

    statement_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a bi_reader statement may run before the server cancels it."
    )
    idle_in_transaction_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a bi_reader session may sit idle inside an open transaction before it is closed.",
    )
    connection_limit: int = Field(default=10, ge=1, description="Concurrent bi_reader connections the server allows.")


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _idents(names: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _grants(role: str, schemas: tuple[str, ...], table_privileges: str, *, create: bool) -> list[sql.Composable]:
    """Usage (and create) on the schemas, privileges on their tables and sequences, now and by default."""
    r, s = sql.Identifier(role), _idents(schemas)
    tables, sequences = sql.SQL(table_privileges), sql.SQL("usage, select, update" if create else "select")
    return [
        sql.SQL("grant usage{} on schema {} to {}").format(sql.SQL(", create" if create else ""), s, r),
        sql.SQL("grant {} on all tables in schema {} to {}").format(tables, s, r),
        sql.SQL("grant {} on all sequences in schema {} to {}").format(sequences, s, r),
        sql.SQL("alter default privileges in schema {} grant {} on tables to {}").format(s, tables, r),
        sql.SQL("alter default privileges in schema {} grant {} on sequences to {}").format(s, sequences, r),
    ]


def _limit_reader(conn, limits: ReaderLimits) -> None:
    reader = sql.Identifier(BI_READER)
    conn.execute(sql.SQL("alter role {} connection limit {}").format(reader, sql.Literal(limits.connection_limit)))
    for parameter, seconds in (
        ("statement_timeout", limits.statement_timeout),
        ("idle_in_transaction_session_timeout", limits.idle_in_transaction_timeout),
    ):
        # in every database of the server, as the role's own default
        conn.execute(
            sql.SQL("alter role {} set {} = {}").format(
                reader, sql.Identifier(parameter), sql.Literal(_milliseconds(seconds))
            )
        )


def _close_other_databases(conn, target: Target) -> list[str]:
    """Revoke PUBLIC's CONNECT and TEMPORARY on the other databases it is safe to; the ones
    ``bi_reader`` can still connect to afterwards."""
    databases = conn.execute(
        "select datname, rolsuper or pg_has_role(current_user, datdba, 'member')"
        " from pg_database, pg_roles where rolname = current_user and datname <> current_database()"
        " order by datname"
    ).fetchall()
    for name, may in databases:
        if may and (target.embedded or name in MAINTENANCE_DATABASES):
            database = sql.Identifier(name)
            conn.execute(sql.SQL("revoke connect, temporary on database {} from public").format(database))
            conn.execute(sql.SQL("revoke all on database {} from {}").format(database, sql.Identifier(BI_READER)))
    return [
        name
        for name, allows in conn.execute(
            "select datname, has_database_privilege(%s, oid, 'connect') from pg_database"
            " where datallowconn and datname <> current_database() order by datname",
            (BI_READER,),
        ).fetchall()
        if allows
    ]


def apply_roles(
    target: Target, passwords: dict[str, str | None], limits: ReaderLimits | None = None
) -> dict[str, bool]:
    """Create or update the three roles and their grants; role -> whether it can log in.

    ``limits`` holds ``bi_reader`` to a statement timeout, an idle-in-transaction timeout
    and a connection limit (default: :class:`ReaderLimits` from the environment)."""
    limits = limits or ReaderLimits()
    logins: dict[str, bool] = {}
    with connect(target) as conn, conn.transaction():
        database = sql.Identifier(target.dbname)
        for role in (LOADER, TRANSFORM, BI_READER):
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
            password = passwords.get(role)
            if password:
                conn.execute(
                    sql.SQL("alter role {} login password {}").format(sql.Identifier(role), sql.Literal(password))
                )
            else:
                conn.execute(sql.SQL("alter role {} nologin password null").format(sql.Identifier(role)))
            logins[role] = bool(password)
        _limit_reader(conn, limits)
        still_open = _close_other_databases(conn, target)
        for schema in ALL_SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        statements: list[sql.Composable] = [
            # nothing by default: every privilege below is given on purpose
            sql.SQL("revoke all on schema {} from public").format(_idents(ALL_SCHEMAS)),
            # nothing lives in schema public: without USAGE it is not even listed to bi_reader
            sql.SQL("revoke create, usage on schema public from public"),
            sql.SQL("revoke temporary on database {} from public").format(database),
            sql.SQL("grant connect on database {} to {}").format(database, _idents((LOADER, TRANSFORM, BI_READER))),
            sql.SQL("grant temporary on database {} to {}").format(database, _idents((LOADER, TRANSFORM))),
            # loader: raw and ops; transform: reads raw, owns the rest of the pipeline
            *_grants(LOADER, LOADER_SCHEMAS, "select, insert, update, delete", create=True),
            *_grants(TRANSFORM, ("raw",), "select", create=False),
            *_grants(TRANSFORM, TRANSFORM_SCHEMAS, "all", create=True),
            # BI: marts, read only
            *_grants(BI_READER, ("marts",), "select", create=False),
        ]
        for statement in statements:
            conn.execute(statement)
        # tables ttw_transform itself creates in marts (a publish run as that role)
        # are readable too; setting this needs membership in the role (a superuser has it)
        member = conn.execute("select pg_has_role(current_user, %s, 'member')", (TRANSFORM,)).fetchone()[0]
        if member:
            conn.execute(
                sql.SQL("alter default privileges for role {} in schema marts grant select on tables to {}").format(
                    sql.Identifier(TRANSFORM), sql.Identifier(BI_READER)
                )
            )
    if still_open:
        log.warning(
            "%s can still connect to database(s) %s of this server: their CONNECT is PUBLIC's and the "
            "warehouse's role may not revoke it there (revoke connect on database ... from public)",
            BI_READER,
            ", ".join(still_open),
        )
    return logins
