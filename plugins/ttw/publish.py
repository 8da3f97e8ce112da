"""Publish: swap the audited ``marts_build`` tables into ``marts`` in one transaction.

Write-audit-publish: dbt writes ``marts_build``, ``ttw audit`` checks it (the newest
build's dbt results from ``ops.dbt_results`` and the GX suites), and publishing copies
the tables of ``marts_build`` into ``marts`` inside a single transaction, so a reader
sees the previous publish or the new one, never a mix. Rows are replaced, not tables: a
reader neither waits nor fails, and grants on the tables stay (a table whose columns
changed is recreated, and ``bi_reader``, where it exists, is granted SELECT again before
the commit). Each table gets the indexes its dbt model declares (the ``indexes``
config, as dbt built them on ``marts_build``) and fresh planner statistics. Publishing
refuses when the newest audit is not of the newest build or failed a critical check (a
failed dbt node is one), leaving ``marts`` untouched, and when it would publish nothing.
Two publishes never run at once (stage locks, :mod:`ttw.locks`), nor a publish during a
build or an audit. The rows of a frozen evaluation year (:mod:`ttw.freeze`) are put back
from their snapshot in the same transaction, so they stay as they were frozen.
"""

from __future__ import annotations

import hashlib

from psycopg import sql

from ttw.errors import Refusal
from ttw.settings import Settings
from ttw.warehouse import Target, connect

BUILD_SCHEMA = "marts_build"


def _require_passed_audit(settings: Settings, target: Target, pinned: str | None = None) -> str:
    from ttw.quality import build_outcome, latest_audit, newest_build, require_newest_build

    if newest_build(target) is None:
        raise Refusal("no dbt build recorded: run `ttw build`, then `ttw audit`, before publishing")
    build_id = require_newest_build(target, pinned)
    failed_nodes = build_outcome(target, build_id)["failed"]
    if failed_nodes:
        raise Refusal(f"the last dbt build did not pass ({', '.join(failed_nodes[:5])}): not publishing")
    newest = latest_audit(target)
    if newest is None or newest[0] != build_id:
        raise Refusal("the last dbt build has not been audited: run `ttw audit` before publishing")
    failed = newest[1]
    if failed:
        named = "; ".join(
            f"{suite}: {expectation}" + (f" ({column})" if column else "") for suite, expectation, column in failed[:8]
        )
        docs = settings.out_dir / "data_docs" / "index.html"
        raise Refusal(
            f"the audit failed {len(failed)} critical check(s), marts left as they were: {named}. Data Docs: {docs}"
        )
    return build_id


def _columns(conn, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    ).fetchall()


def table_indexes(conn, schema: str, table: str) -> dict[str, str]:
    """{"[UNIQUE ]USING btree (columns)": index name} for the table's indexes."""
    found = {}
    for name, definition in conn.execute(
        "select indexname, indexdef from pg_indexes where schemaname = %s and tablename = %s", (schema, table)
    ):
        unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
        found[unique + definition[definition.index(" USING ") + 1 :]] = name
    return found


def _mirror_indexes(conn, table: str) -> None:
    """Give ``marts.TABLE`` the indexes its dbt model declares (``indexes`` config), as
    built on ``marts_build.TABLE``, and drop any it no longer declares."""
    wanted = table_indexes(conn, BUILD_SCHEMA, table)
    present = table_indexes(conn, "marts", table)
    for shape, name in present.items():
        if shape not in wanted:
            conn.execute(sql.SQL("drop index marts.{}").format(sql.Identifier(name)))
    for shape in wanted.keys() - present.keys():
        unique, using = ("unique ", shape[len("UNIQUE ") :]) if shape.startswith("UNIQUE ") else ("", shape)
        name = f"{table[:40]}__{hashlib.md5(shape.encode()).hexdigest()[:12]}"
        conn.execute(
            sql.SQL("create {}index {} on marts.{} ").format(
                sql.SQL(unique), sql.Identifier(name), sql.Identifier(table)
            )
            + sql.SQL(using)
        )


def publish(
    settings: Settings,
    target: Target,
    *,
    wait: bool = True,
    lock_timeout: float | None = None,
    build_id: str | None = None,
) -> dict[str, int]:
    """Replace ``marts`` with the audited tables of ``marts_build``; returns rows per table.

    Holds the ``marts_build`` and ``marts`` locks: a build, audit or publish running
    elsewhere is waited for (``lock_timeout`` seconds at most, default: the setting), or
    not at all without ``wait``. ``build_id``: the build that must be the newest and
    audited (the DAG's own), else nothing is published.
    """
    from ttw.locks import MARTS, MARTS_BUILD, stage_lock

    timeout = settings.lock_timeout_seconds if lock_timeout is None else lock_timeout
    with stage_lock(target, (MARTS_BUILD, MARTS), "publish", timeout=timeout, wait=wait):
        return _publish(settings, target, build_id)


def last_published_build(target: Target) -> str | None:
    """The build the newest publish put into ``marts`` (``ops.publishes``); None before any."""
    with connect(target) as conn:
        if conn.execute("select to_regclass('ops.publishes')").fetchone()[0] is None:
            return None
        row = conn.execute("select build_id from ops.publishes order by published_at desc limit 1").fetchone()
    return row[0] if row else None


def _publish(settings: Settings, target: Target, pinned: str | None = None) -> dict[str, int]:
    from ttw.freeze import restore_frozen

    build_id = _require_passed_audit(settings, target, pinned)
    counts: dict[str, int] = {}
    with connect(target) as conn, conn.transaction():
        tables = [
            r[0]
            for r in conn.execute(
                "select tablename from pg_tables where schemaname = %s order by tablename", (BUILD_SCHEMA,)
            )
        ]
        if not tables:
            raise Refusal(f"{BUILD_SCHEMA} has no tables: nothing to publish")
        published = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'marts'")]
        for name in published:
            if name not in tables:
                conn.execute(sql.SQL("drop table marts.{}").format(sql.Identifier(name)))
        for name in tables:
            ident = sql.Identifier(name)
            if name in published and _columns(conn, "marts", name) == _columns(conn, BUILD_SCHEMA, name):
                # rows, not tables, are replaced: readers keep their AccessShare locks (no
                # waiting, no deadlock) and see the old rows until this transaction commits
                conn.execute(sql.SQL("delete from marts.{}").format(ident))
                conn.execute(sql.SQL("insert into marts.{0} select * from marts_build.{0}").format(ident))
            else:  # a new model, or one whose columns changed
                conn.execute(sql.SQL("drop table if exists marts.{}").format(ident))
                conn.execute(sql.SQL("create table marts.{0} as table marts_build.{0}").format(ident))
            # a frozen evaluation year keeps the rows it was frozen with (ttw evaluation freeze)
            restore_frozen(conn, name)
            _mirror_indexes(conn, name)
            conn.execute(sql.SQL("analyze marts.{}").format(ident))
            counts[name] = conn.execute(sql.SQL("select count(*) from marts.{}").format(ident)).fetchone()[0]
        conn.execute("insert into ops.publishes (build_id) values (%s)", (build_id,))
        if conn.execute("select 1 from pg_roles where rolname = 'bi_reader'").fetchone():
            conn.execute("grant usage on schema marts to bi_reader")
            conn.execute("grant select on all tables in schema marts to bi_reader")
    return counts
