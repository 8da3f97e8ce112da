"""Publish: swap the audited ``marts_build`` tables into ``marts`` in one transaction.

Write-audit-publish: dbt writes ``marts_build``, ``ttw audit`` checks it (dbt tests and
the GX suites), and publishing copies the mart models of the last ``dbt build`` into
``marts`` inside a single transaction, so a reader sees the previous publish or the new
one, never a mix. Rows are replaced, not tables: a reader neither waits nor fails, and
grants on the tables stay (a table whose columns changed is recreated, and ``bi_reader``,
where it exists, is granted SELECT again before the commit). Publishing refuses when the
build did not pass, when the newest audit is not of that build or failed a critical
check (``marts`` then keeps its data untouched), or when it would publish nothing.
"""

from __future__ import annotations

import json

from psycopg import sql

from ttw.errors import TTWError
from ttw.settings import Settings
from ttw.warehouse import Target, connect

BUILD_SCHEMA = "marts_build"
FAILED = {"error", "fail", "runtime error"}


def audited_models(settings: Settings) -> list[str]:
    """The tables the last dbt build made in ``marts_build``; an error unless it fully passed."""
    target_dir = settings.home_dir / "dbt" / "target"
    try:
        results = json.loads((target_dir / "run_results.json").read_text())
        manifest = json.loads((target_dir / "manifest.json").read_text())
    except FileNotFoundError:
        raise TTWError(f"no dbt build results in {target_dir}: run `ttw build` before publishing") from None
    if results.get("args", {}).get("which") != "build":
        raise TTWError("the last dbt command was not `dbt build`: run `ttw build` before publishing")
    failed = [r["unique_id"] for r in results["results"] if r["status"] in FAILED]
    if failed:
        raise TTWError(f"the last dbt build did not pass ({', '.join(failed[:5])}): not publishing")
    return sorted(
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["schema"] == BUILD_SCHEMA
        and node["config"]["materialized"] in ("table", "incremental")
    )


def _require_passed_audit(settings: Settings, target: Target) -> None:
    from ttw.quality import dbt_checks, latest_audit

    invocation_id, _ = dbt_checks(settings)
    newest = latest_audit(target)
    if newest is None or newest[0] != invocation_id:
        raise TTWError("the last dbt build has not been audited: run `ttw audit` before publishing")
    failed = newest[1]
    if failed:
        named = "; ".join(
            f"{suite}: {expectation}" + (f" ({column})" if column else "") for suite, expectation, column in failed[:8]
        )
        docs = settings.out_dir / "data_docs" / "index.html"
        raise TTWError(
            f"the audit failed {len(failed)} critical check(s), marts left as they were: {named}. Data Docs: {docs}"
        )


def _columns(conn, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    ).fetchall()


def publish(settings: Settings, target: Target) -> dict[str, int]:
    """Replace ``marts`` with the audited tables of ``marts_build``; returns rows per table."""
    tables = audited_models(settings)
    if not tables:
        raise TTWError("the last dbt build made no mart tables: nothing to publish")
    _require_passed_audit(settings, target)
    counts: dict[str, int] = {}
    with connect(target) as conn, conn.transaction():
        present = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s", (BUILD_SCHEMA,)
            )
        }
        missing = [t for t in tables if t not in present]
        if missing:
            raise TTWError(f"{BUILD_SCHEMA} lacks {', '.join(missing)}: run `ttw build` before publishing")
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
            counts[name] = conn.execute(sql.SQL("select count(*) from marts.{}").format(ident)).fetchone()[0]
        if conn.execute("select 1 from pg_roles where rolname = 'bi_reader'").fetchone():
            conn.execute("grant usage on schema marts to bi_reader")
            conn.execute("grant select on all tables in schema marts to bi_reader")
    return counts
