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

The catalog travels with the rows: each table's and column's comment (the dbt
descriptions, persisted on ``marts_build``) and its contract constraints, primary key and
NOT NULL as built, foreign keys DEFERRABLE INITIALLY DEFERRED (checked when every table
and frozen year is in place, before the commit), so a BI tool reading ``marts`` finds the
documentation, the grain and the joins without the dbt project. A constraint that already
matches is left alone: on the delete+insert path a publish changes no DDL, and readers
never wait.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from ttw.errors import Refusal
from ttw.load import ensure_ops
from ttw.settings import Settings
from ttw.warehouse import BUILD_SCHEMA, Target, connect


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


def _constraint_indexes(conn, schema: str, table: str) -> set[str]:
    """Names of the indexes that back a constraint of the table (primary key, unique)."""
    return {
        r[0]
        for r in conn.execute(
            "select i.relname from pg_constraint as k join pg_class as i on i.oid = k.conindid"
            " where k.conrelid = to_regclass(%s) and k.contype in ('p', 'u', 'x')",
            (f"{schema}.{table}",),
        )
    }


def _mirror_indexes(conn, table: str) -> None:
    """Give ``marts.TABLE`` the indexes its dbt model declares (``indexes`` config), as
    built on ``marts_build.TABLE``, and drop any it no longer declares. The indexes of
    constraints are the constraints' own (:func:`_mirror_constraints`)."""
    skip_build = _constraint_indexes(conn, BUILD_SCHEMA, table)
    skip_marts = _constraint_indexes(conn, "marts", table)
    wanted = {k: v for k, v in table_indexes(conn, BUILD_SCHEMA, table).items() if v not in skip_build}
    present = {k: v for k, v in table_indexes(conn, "marts", table).items() if v not in skip_marts}
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


def _comments(conn, schema: str, table: str) -> tuple[str | None, dict[str, str | None]]:
    """The table's comment and {column: comment}."""
    relation = f"{schema}.{table}"
    table_comment = conn.execute("select obj_description(to_regclass(%s), 'pg_class')", (relation,)).fetchone()[0]
    columns = dict(
        conn.execute(
            "select attname, col_description(attrelid, attnum) from pg_attribute"
            " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped",
            (relation,),
        ).fetchall()
    )
    return table_comment, columns


def _mirror_comments(conn, table: str) -> None:
    """``COMMENT ON`` ``marts.TABLE`` and its columns as on ``marts_build.TABLE`` (the dbt
    descriptions); only what differs is written."""
    wanted_table, wanted_columns = _comments(conn, BUILD_SCHEMA, table)
    present_table, present_columns = _comments(conn, "marts", table)
    ident = sql.Identifier(table)
    if wanted_table != present_table:
        conn.execute(sql.SQL("comment on table marts.{} is {}").format(ident, sql.Literal(wanted_table)))
    for column, comment in wanted_columns.items():
        if column in present_columns and present_columns[column] != comment:
            conn.execute(
                sql.SQL("comment on column marts.{}.{} is {}").format(
                    ident, sql.Identifier(column), sql.Literal(comment)
                )
            )


def table_constraints(conn, schema: str, table: str) -> dict[str, str]:
    """{definition: name} of the table's primary key, unique and check constraints; the
    definition as ``pg_get_constraintdef`` gives it (it names no schema)."""
    return {
        definition: name
        for name, definition in conn.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint"
            " where conrelid = to_regclass(%s) and contype in ('p', 'u', 'c')",
            (f"{schema}.{table}",),
        )
    }


def not_null_columns(conn, schema: str, table: str) -> set[str]:
    """The table's columns declared NOT NULL."""
    return {
        r[0]
        for r in conn.execute(
            "select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0"
            " and not attisdropped and attnotnull",
            (f"{schema}.{table}",),
        )
    }


def _mirror_constraints(conn, table: str) -> None:
    """Give ``marts.TABLE`` the NOT NULL columns, primary key, unique and check constraints
    of ``marts_build.TABLE`` (the model's contract) and drop those it no longer has; one
    already in place is left as it is."""
    ident = sql.Identifier(table)
    wanted = table_constraints(conn, BUILD_SCHEMA, table)
    present = table_constraints(conn, "marts", table)
    for definition, name in present.items():
        if definition not in wanted:
            conn.execute(sql.SQL("alter table marts.{} drop constraint {}").format(ident, sql.Identifier(name)))
    wanted_not_null = not_null_columns(conn, BUILD_SCHEMA, table)
    present_not_null = not_null_columns(conn, "marts", table)
    for column in sorted(present_not_null - wanted_not_null):
        conn.execute(
            sql.SQL("alter table marts.{} alter column {} drop not null").format(ident, sql.Identifier(column))
        )
    for column in sorted(wanted_not_null - present_not_null):
        conn.execute(sql.SQL("alter table marts.{} alter column {} set not null").format(ident, sql.Identifier(column)))
    for definition in sorted(wanted.keys() - present.keys(), key=lambda d: not d.startswith("PRIMARY KEY")):
        kind = {"P": "pkey", "U": "key", "C": "check"}[definition[0]]
        name = f"{table[:40]}__{kind}_{hashlib.md5(definition.encode()).hexdigest()[:8]}"
        conn.execute(
            sql.SQL("alter table marts.{} add constraint {} ").format(ident, sql.Identifier(name)) + sql.SQL(definition)
        )


def foreign_keys(conn, schema: str) -> dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], str]:
    """{(table, columns, referenced table, referenced columns): name} of the foreign keys
    between tables of ``schema``."""
    found = {}
    for name, table, columns, referenced, referenced_columns in conn.execute(
        "select k.conname, c.relname,"
        " array(select a.attname::text from unnest(k.conkey) with ordinality as u(n, i)"
        "   join pg_attribute as a on a.attrelid = k.conrelid and a.attnum = u.n order by u.i),"
        " r.relname,"
        " array(select a.attname::text from unnest(k.confkey) with ordinality as u(n, i)"
        "   join pg_attribute as a on a.attrelid = k.confrelid and a.attnum = u.n order by u.i)"
        " from pg_constraint as k join pg_class as c on c.oid = k.conrelid"
        " join pg_class as r on r.oid = k.confrelid"
        " where k.contype = 'f' and c.relnamespace = to_regnamespace(%s) and r.relnamespace = c.relnamespace",
        (schema,),
    ):
        found[(table, tuple(columns), referenced, tuple(referenced_columns))] = name
    return found


def _drop_foreign_keys(conn, keys: dict[tuple, str]) -> None:
    for (table, *_), name in keys.items():
        conn.execute(
            sql.SQL("alter table marts.{} drop constraint {}").format(sql.Identifier(table), sql.Identifier(name))
        )


def _mirror_foreign_keys(conn, wanted: dict[tuple, str]) -> None:
    """Give ``marts`` the foreign keys of ``marts_build`` (between its tables), DEFERRABLE
    INITIALLY DEFERRED: a delete+insert of a dimension and of the facts referencing it may
    come in any order inside the publish. A key added here checks the rows at once; every
    deferred check is made before the commit, so a publish that breaks a key (frozen rows
    included) is refused with marts as they were."""
    present = foreign_keys(conn, "marts")
    _drop_foreign_keys(conn, {k: v for k, v in present.items() if k not in wanted})
    try:
        for key in sorted(wanted.keys() - present.keys()):
            table, columns, referenced, referenced_columns = key
            name = f"{table[:40]}__fkey_{hashlib.md5(repr(key).encode()).hexdigest()[:8]}"
            conn.execute(
                sql.SQL(
                    "alter table marts.{} add constraint {} foreign key ({}) references marts.{} ({})"
                    " deferrable initially deferred"
                ).format(
                    sql.Identifier(table),
                    sql.Identifier(name),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(referenced),
                    sql.SQL(", ").join(map(sql.Identifier, referenced_columns)),
                )
            )
        conn.execute("set constraints all immediate")
    except psycopg.errors.IntegrityError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Refusal(
            f"the tables to publish break a foreign key ({first}): not publishing, marts left as they were"
        ) from None


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

    with connect(target) as conn:
        ensure_ops(conn)  # it reads the build's ops records and writes ops.publishes
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
        recreated = {
            name
            for name in published
            if name not in tables or _columns(conn, "marts", name) != _columns(conn, BUILD_SCHEMA, name)
        }
        # a table dropped takes the foreign keys to and from it: they come back at the end
        _drop_foreign_keys(
            conn, {k: v for k, v in foreign_keys(conn, "marts").items() if k[0] in recreated or k[2] in recreated}
        )
        for name in published:
            if name not in tables:
                conn.execute(sql.SQL("drop table marts.{}").format(sql.Identifier(name)))
        for name in tables:
            ident, built = sql.Identifier(name), sql.Identifier(BUILD_SCHEMA, name)
            if name in published and name not in recreated:
                # rows, not tables, are replaced: readers keep their AccessShare locks (no
                # waiting, no deadlock) and see the old rows until this transaction commits
                conn.execute(sql.SQL("delete from marts.{}").format(ident))
                conn.execute(sql.SQL("insert into marts.{} select * from {}").format(ident, built))
            else:  # a new model, or one whose columns changed
                conn.execute(sql.SQL("drop table if exists marts.{}").format(ident))
                conn.execute(sql.SQL("create table marts.{} as table {}").format(ident, built))
            _mirror_comments(conn, name)
            # before the frozen rows go back, so that they are held to the same contract
            _mirror_constraints(conn, name)
            # a frozen evaluation year keeps the rows it was frozen with (ttw evaluation freeze)
            restore_frozen(conn, name)
            _mirror_indexes(conn, name)
            conn.execute(sql.SQL("analyze marts.{}").format(ident))
            counts[name] = conn.execute(sql.SQL("select count(*) from marts.{}").format(ident)).fetchone()[0]
        _mirror_foreign_keys(conn, foreign_keys(conn, BUILD_SCHEMA))
        published_at = conn.execute(
            "insert into ops.publishes (build_id) values (%s) returning published_at", (build_id,)
        ).fetchone()[0]
        if "data_freshness" in tables:  # when BI's data was published (docs/bi.md)
            conn.execute("update marts.data_freshness set published_at = %s", (published_at,))
        if conn.execute("select 1 from pg_roles where rolname = 'bi_reader'").fetchone():
            conn.execute("grant usage on schema marts to bi_reader")
            conn.execute("grant select on all tables in schema marts to bi_reader")
    return counts
