"""Publish: copy the audited ``marts_build`` tables into ``marts`` in one transaction.

BI tools read ``marts`` only. dbt writes ``marts_build``; after its tests pass, every table
there is copied into ``marts`` inside a single transaction, so a reader sees the previous
publish or the new one, never a mix.
"""

from __future__ import annotations

from psycopg import sql

from ttw.warehouse import Target, connect


def published_tables(target: Target, schema: str = "marts_build") -> list[str]:
    with connect(target) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'"
            " order by table_name",
            (schema,),
        ).fetchall()
    return [r[0] for r in rows]


def publish(target: Target) -> dict[str, int]:
    """Replace ``marts`` with the tables of ``marts_build``; returns rows per published table."""
    counts: dict[str, int] = {}
    tables = published_tables(target)
    with connect(target) as conn, conn.transaction():
        conn.execute("create schema if not exists marts")
        for name in published_tables(target, "marts"):
            if name not in tables:
                conn.execute(sql.SQL("drop table marts.{}").format(sql.Identifier(name)))
        for name in tables:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("drop table if exists marts.{}").format(ident))
            conn.execute(sql.SQL("create table marts.{0} as table marts_build.{0}").format(ident))
            counts[name] = conn.execute(sql.SQL("select count(*) from marts.{}").format(ident)).fetchone()[0]
    return counts
