"""Build: run dbt against the resolved warehouse.

dbt reads its connection from ``dbt_project/profiles.yml``, which takes every value from
``TTW_DBT_*`` environment variables; :func:`dbt_env` fills them from a :class:`Target`.
dbt's target and log folders live under ``$TTW_HOME/dbt`` so the repository stays clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import NamedTuple

from ttw.errors import TTWError
from ttw.settings import TELEMETRY_OFF, Settings
from ttw.warehouse import Target


def dbt_env(settings: Settings, target: Target) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TELEMETRY_OFF)
    env.update(
        {
            "TTW_DBT_HOST": target.host,
            "TTW_DBT_PORT": str(target.port),
            "TTW_DBT_USER": target.user,
            "TTW_DBT_PASSWORD": target.password,
            "TTW_DBT_DBNAME": target.dbname,
            "TTW_DBT_SSLMODE": target.sslmode or "prefer",
            "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
            "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
            "DBT_TARGET_PATH": str(settings.home_dir / "dbt" / "target"),
            "DBT_LOG_PATH": str(settings.home_dir / "dbt" / "logs"),
        }
    )
    return env


def dbt_executable() -> str:
    """dbt beside this interpreter (the project's venv), else the first on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise TTWError("dbt is not installed in this environment (expected it beside the Python running ttw)")
    return found


def run_dbt(settings: Settings, target: Target, args: list[str], *, build_id: str | None = None) -> str:
    """Run ``dbt ARGS`` in the project; its output is returned, a failure raises with the tail.

    ``build_id`` names the build in ``ops.dbt_results`` (default: dbt's invocation id)."""
    env = dbt_env(settings, target)
    if build_id:
        env["TTW_BUILD_ID"] = build_id
    result = subprocess.run(
        [dbt_executable(), *args],
        cwd=settings.dbt_project_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise TTWError(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return output


NOTHING_CHANGED = "nothing to build: no source has new rows since the last build"


def fix_build_batches(target: Target) -> int:
    """Fix the load batches the next dbt run reads: those committed now and not retracted
    (ops.build_batches), and the retracted batches it must remove from the models still
    holding their rows (ops.build_retractions; see :mod:`ttw.batches`).

    Returns how many. Rows committed later wait for the next build; ops.model_batches
    records which of them each incremental model has processed.
    """
    from ttw.load import ensure_ops
    from ttw.warehouse import connect

    with connect(target) as conn, conn.transaction():
        ensure_ops(conn)
        # the retracted batches a model still holds rows of: while there is one, this build
        # rebuilds every incremental model from scratch (should_full_refresh in macros/incremental.sql)
        conn.execute("delete from ops.build_retractions")
        conn.execute(
            "insert into ops.build_retractions select distinct seen.batch_id from ops.model_batches as seen"
            " join ops.load_batches as batches on batches.batch_id = seen.batch_id"
            " where batches.retracted_at is not null"
        )
        conn.execute("delete from ops.build_batches")
        return conn.execute(
            "insert into ops.build_batches select batch_id from ops.load_batches where retracted_at is null"
        ).rowcount


NO_NODES = "does not match any enabled nodes"


def build(
    settings: Settings,
    target: Target,
    *,
    full_refresh: bool = False,
    select: list[str] | None = None,
    changed: bool = False,
    wait: bool = True,
    lock_timeout: float | None = None,
    build_id: str | None = None,
) -> str:
    """``dbt build`` into ``marts_build`` (seeds, models, tests), holding the build lock.

    A build running elsewhere (or an audit or publish, which read ``marts_build``) is
    waited for, ``lock_timeout`` seconds at most (default: the setting), or not at all
    without ``wait``. The build reads the load batches committed when it starts.
    ``changed``: only what lies downstream of the sources that gained rows since the last
    whole build (dbt's ``source:NAME+``), when that build was of the same project; every
    node otherwise. With nothing new, dbt does not run and :data:`NOTHING_CHANGED` is returned.
    Such a build sets the dbt var ``scope_to_new_batches``: the tests of the models that
    opt in read only the rows of the batches new since the last whole build that passed,
    and the center evaluation is rebuilt for the years those batches touch
    (``macros/tests/new_batch_scope.sql``, ``fct_center_indicators``).
    A ``select`` that matches no node fails. ``build_id`` names the build in ``ops.dbt_results``
    (the DAG passes its run id, then audits and publishes that build only).
    """
    from ttw.locks import MARTS_BUILD, stage_lock

    timeout = settings.lock_timeout_seconds if lock_timeout is None else lock_timeout
    with stage_lock(target, (MARTS_BUILD,), "build", timeout=timeout, wait=wait):
        return _build(settings, target, full_refresh=full_refresh, select=select, changed=changed, build_id=build_id)


def ensure_sources(target: Target) -> None:
    """dbt's sources exist even before a family's first delivery. Their DDL runs only when
    one is missing: it would otherwise wait for every load in progress to commit."""
    from ttw.ingest import ensure_raw_tables
    from ttw.load import ensure_ops
    from ttw.sources import FAMILIES
    from ttw.warehouse import connect

    names = ["ops.load_batches", "ops.load_rejects", "ops.marts_build_state", "ops.publishes"]
    names += [table.qualified for family in FAMILIES for table in family.tables]
    with connect(target) as conn:
        ensure_ops(conn)  # the ops tables of a warehouse made by an older ttw, brought up to date
        missing = [name for name in names if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is None]
    if missing:
        ensure_raw_tables(target)


def _build(
    settings: Settings,
    target: Target,
    *,
    full_refresh: bool,
    select: list[str] | None,
    changed: bool,
    build_id: str | None = None,
) -> str:
    ensure_sources(target)
    whole = not select
    if whole:
        # counted before the build's batches are fixed: rows committed after the count, even
        # those this build then reads, count as new next time. Counted after, a batch committed
        # in between would be in neither: seen as built, never built by a --changed build.
        rows, checksum = source_rows(target), project_checksum(settings)
    fix_build_batches(target)
    scoped = False
    if whole and changed and not full_refresh:
        select = grown_sources(settings, target, rows, checksum)
        if select == []:
            return NOTHING_CHANGED
        scoped = select is not None and fix_scope_batches(target)
    args = ["build"]
    if scoped:
        # tests of the models that opt in read only what the new batches added (see
        # macros/tests/new_batch_scope.sql); every older row passed the last whole build
        args += ["--vars", '{"scope_to_new_batches": true}']
    if full_refresh:
        args.append("--full-refresh")
    if select:
        # a selection matching nothing is an error, found before anything runs
        args += ["--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}', "--select", *select]
    build_id = build_id or uuid.uuid4().hex
    _mark_build(target, build_id)
    try:
        output = run_dbt(settings, target, args, build_id=build_id)
    except TTWError as exc:
        _mark_build(target, build_id, passed=False)
        if NO_NODES not in str(exc):
            raise
        named = " ".join(repr(s) for s in select or ())
        raise TTWError(f"--select {named}: matches no model, seed or test of the dbt project; nothing built") from None
    _mark_build(target, build_id, passed=True)
    if whole:
        _record_sources(target, rows, checksum)
    return output


def _mark_build(target: Target, build_id: str, *, passed: bool | None = None) -> None:
    """Record in ``ops.marts_build_state`` which build ``marts_build`` holds: written before dbt
    starts (a build killed midway leaves it unfinished) and when dbt ends (``passed``). The
    results of an earlier try under the same id are dropped as a build starts, so a build's
    results are always one dbt run's."""
    from ttw.warehouse import connect

    with connect(target) as conn, conn.transaction():
        if passed is None:
            conn.execute("delete from ops.dbt_results where build_id = %s", (build_id,))
            conn.execute(
                "insert into ops.marts_build_state (build_id) values (%s) on conflict (one) do update"
                " set build_id = excluded.build_id, started_at = now(), finished_at = null, passed = null",
                (build_id,),
            )
        else:
            conn.execute(
                "update ops.marts_build_state set finished_at = now(), passed = %s where build_id = %s",
                (passed, build_id),
            )


class BuildState(NamedTuple):
    """The build ``marts_build`` holds: its id, whether dbt passed (None while it runs or if it
    was stopped), and whether it finished."""

    build_id: str
    passed: bool | None
    finished: bool


def build_state(target: Target) -> BuildState | None:
    """The build ``marts_build`` holds (``ops.marts_build_state``); None before any."""
    from ttw.warehouse import connect

    with connect(target) as conn:
        if conn.execute("select to_regclass('ops.marts_build_state')").fetchone()[0] is None:
            return None
        row = conn.execute("select build_id, passed, finished_at is not null from ops.marts_build_state").fetchone()
    return BuildState(*row) if row else None


def _project_files(settings: Settings) -> list[Path]:
    project = settings.dbt_project_dir
    files = [project / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots"):
        files.extend(sorted(f for f in (project / folder).rglob("*") if f.is_file()))
    return [f for f in files if f.exists()]


def project_checksum(settings: Settings) -> str:
    """SHA-256 over the dbt project's files (names and bytes)."""
    import hashlib

    digest = hashlib.sha256()
    for path in _project_files(settings):
        digest.update(str(path.relative_to(settings.dbt_project_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def source_rows(target: Target) -> dict[str, int]:
    """Rows in every raw table, ops.load_rejects and ops.load_batches: dbt's sources, all
    append-only. The ledger counts too: the complete-period flags (int_meta__registry_months,
    data_freshness and the report tables' is_complete_*) read it, not the raw rows."""
    from psycopg import sql

    from ttw.warehouse import connect

    with connect(target) as conn:
        tables = [
            (schema, name)
            for schema, name in conn.execute(
                "select schemaname, tablename from pg_tables where schemaname = 'raw'"
                " or (schemaname = 'ops' and tablename in ('load_rejects', 'load_batches')) order by 1, 2"
            )
        ]
        return {
            f"{schema}.{name}": conn.execute(
                sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
            ).fetchone()[0]
            for schema, name in tables
        }


def grown_sources(settings: Settings, target: Target, rows: dict[str, int], checksum: str) -> list[str] | None:
    """dbt selectors downstream of the sources that grew since the last whole build; ``[]``
    when none did; ``None`` (build everything) without a record of the same project, or
    while a model still holds the rows of a retracted batch (those models rebuild from
    scratch, and what lies downstream of them with them)."""
    from ttw.batches import pending_retractions
    from ttw.warehouse import connect

    with connect(target) as conn:
        if pending_retractions(conn):
            return None
        recorded = dict(conn.execute("select source_id, row_count from ops.build_sources").fetchall())
        same_project = conn.execute(
            "select bool_and(project_checksum = %s) from ops.build_sources", (checksum,)
        ).fetchone()[0]
    previous = settings.home_dir / "dbt" / "target" / "manifest.json"
    if not recorded or not same_project or not previous.exists():
        return None
    grown = {relation for relation, count in rows.items() if count != recorded.get(relation)}
    sources = _manifest(previous)["sources"].values()
    return sorted(
        f"source:{source['source_name']}.{source['name']}+"
        for source in sources
        if f"{source['schema']}.{source['identifier']}" in grown
    )


def fix_scope_batches(target: Target) -> bool:
    """Fix in ``ops.build_scope_batches`` the batches of this build that the last whole build
    which passed did not read (``ops.built_batches``): the rows a ``--changed`` build's
    scoped tests read. False, and nothing scoped, without a record of that build."""
    from ttw.warehouse import connect

    with connect(target) as conn, conn.transaction():
        # a whole build records its sources and its batches together (_record_sources)
        if not conn.execute("select exists (select from ops.build_sources)").fetchone()[0]:
            return False
        conn.execute("delete from ops.build_scope_batches")
        conn.execute(
            "insert into ops.build_scope_batches select batch_id from ops.build_batches"
            " except select batch_id from ops.built_batches"
        )
    return True


def _record_sources(target: Target, rows: dict[str, int], checksum: str) -> None:
    from ttw.warehouse import connect

    with connect(target) as conn, conn.transaction():
        # the batches this whole build read and tested: a later --changed build scopes its
        # tests to the batches beyond them (fix_scope_batches)
        conn.execute("delete from ops.built_batches")
        conn.execute("insert into ops.built_batches select batch_id from ops.build_batches")
        conn.execute("delete from ops.build_sources")
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into ops.build_sources (source_id, row_count, project_checksum) values (%s, %s, %s)",
                [(relation, count, checksum) for relation, count in rows.items()],
            )


def rejects_summary(target: Target) -> list[tuple[str, str, int]]:
    """(source family, rule, rows) in ops.rejects after a build, most first."""
    from ttw.warehouse import connect

    with connect(target) as conn:
        return conn.execute(
            "select source_family, rule_name, count(*) from ops.rejects group by 1, 2 order by 3 desc, 1, 2"
        ).fetchall()


def _manifest(path: Path) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8"))
