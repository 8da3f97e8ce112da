"""Database roles: who may write which layer, and what BI may read.

- ``ttw_loader`` writes ``raw`` and ``ops`` (the ingest DAGs);
- ``ttw_transform`` reads ``raw``, writes ``ops`` and every dbt schema, and publishes
  ``marts`` (dbt, audit, publish);
- ``bi_reader`` may SELECT the tables of ``marts`` and nothing else: no other schema, no
  writes, no temporary tables, no functions of its own. Default privileges make every
  table a later publish creates readable without running this again.

:func:`apply_roles` is idempotent: re-running it sets the same grants (and the passwords
it is given). A role without a password is NOLOGIN: it can be granted to login roles, and
nobody logs in as it.
"""

from __future__ import annotations

from psycopg import sql

from ttw.warehouse import Target, connect

LOADER, TRANSFORM, BI_READER = "ttw_loader", "ttw_transform", "bi_reader"
LOADER_SCHEMAS = ("raw", "ops")
TRANSFORM_SCHEMAS = ("ops", "staging", "intermediate", "snapshots", "marts_build", "marts")
ALL_SCHEMAS = ("raw", "ops", "staging", "intermediate", "snapshots", "marts_build", "marts")


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


def apply_roles(target: Target, passwords: dict[str, str | None]) -> dict[str, bool]:
    """Create or update the three roles and their grants; role -> whether it can log in."""
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
        for schema in ALL_SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        statements: list[sql.Composable] = [
            # nothing by default: every privilege below is given on purpose
            sql.SQL("revoke all on schema {} from public").format(_idents(ALL_SCHEMAS)),
            sql.SQL("revoke create on schema public from public"),
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
    return logins
