"""Publish: copy the audited ``marts_build`` tables into ``marts`` in one transaction.

BI tools read ``marts`` only. dbt writes ``marts_build``; publishing copies the mart
models of the last ``dbt build`` into ``marts`` inside a single transaction, so a reader
sees the previous publish or the new one, never a mix. It refuses when that build did not
pass (a failed model or test), when there is no build, or when it would publish nothing.
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


def publish(settings: Settings, target: Target) -> dict[str, int]:
    """Replace ``marts`` with the audited tables of ``marts_build``; returns rows per table."""
    tables = audited_models(settings)
    if not tables:
        raise TTWError("the last dbt build made no mart tables: nothing to publish")
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
            conn.execute(sql.SQL("drop table if exists marts.{}").format(ident))
            conn.execute(sql.SQL("create table marts.{0} as table marts_build.{0}").format(ident))
            counts[name] = conn.execute(sql.SQL("select count(*) from marts.{}").format(ident)).fetchone()[0]
    return counts
