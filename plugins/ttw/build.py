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
from pathlib import Path

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


def run_dbt(settings: Settings, target: Target, args: list[str]) -> str:
    """Run ``dbt ARGS`` in the project; its output is returned, a failure raises with the tail."""
    result = subprocess.run(
        [dbt_executable(), *args],
        cwd=settings.dbt_project_dir,
        env=dbt_env(settings, target),
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise TTWError(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return output


def build(settings: Settings, target: Target, *, full_refresh: bool = False, select: list[str] | None = None) -> str:
    """``dbt seed`` + ``dbt build`` into ``marts_build`` (tests included)."""
    from ttw.ingest import ensure_raw_tables

    ensure_raw_tables(target)  # dbt's sources exist even before a family's first delivery
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    return run_dbt(settings, target, args)


def rejects_summary(target: Target) -> list[tuple[str, str, int]]:
    """(source family, rule, rows) in ops.rejects after a build, most first."""
    from ttw.warehouse import connect

    with connect(target) as conn:
        return conn.execute(
            "select source_family, rule_name, count(*) from ops.rejects group by 1, 2 order by 3 desc, 1, 2"
        ).fetchall()


def manifest_path(settings: Settings) -> Path:
    """The parsed dbt project the build_warehouse DAG renders its tasks from (no dbt at parse time)."""
    return settings.home_dir / "dbt" / "manifest" / "manifest.json"


def manifest_is_current(settings: Settings) -> bool:
    """True when the manifest exists and is newer than every file of the dbt project."""
    path = manifest_path(settings)
    if not path.exists():
        return False
    written = path.stat().st_mtime
    project = settings.dbt_project_dir
    sources = [project / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots"):
        sources.extend(f for f in (project / folder).rglob("*") if f.is_file())
    return all(f.stat().st_mtime <= written for f in sources if f.exists())


def write_manifest(settings: Settings, target: Target, *, force: bool = False) -> Path:
    """``dbt parse`` into the manifest folder, unless the manifest is already current."""
    path = manifest_path(settings)
    if force or not manifest_is_current(settings):
        run_dbt(settings, target, ["parse", "--target-path", str(path.parent)])
    return path


def _manifest(path: Path) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def manifest_node_ids(manifest: Path) -> set[str]:
    """Every seed, model, data test and unit test of the project: what a complete build runs."""
    data = _manifest(manifest)
    built = {uid for uid, node in data["nodes"].items() if node["resource_type"] in ("seed", "model", "test")}
    return built | set(data.get("unit_tests", {}))


def joint_tests(manifest: Path) -> list[str]:
    """The tests over more than one model or seed (relationships, reconciliations), or over
    sources alone: they run together once every model is built, not with whichever parent
    happens to be first (a test over one model runs in that model's task)."""
    nodes = _manifest(manifest)["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "test"
        and sum(parent.split(".")[0] in ("model", "seed", "snapshot") for parent in node["depends_on"]["nodes"]) != 1
    )
