"""The main job, end to end on one machine: ``ttw demo``.

Generates a sample (or reuses it), lands its files, serves its platform API on a loopback
port with a one-off token, and runs every DAG in order through Airflow (``dag.test()``),
the way the scheduler chains them by their assets, then writes the dbt docs. The summary
says what landed where.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ttw.errors import TTWError
from ttw.settings import Settings
from ttw.warehouse import Target, connect

DAG_ORDER = (
    "ingest_contract_registry",
    "ingest_center_reports",
    "ingest_platform_exports",
    "build_warehouse",
    "evaluate_centers",
)


@dataclass
class DemoRun:
    dataset: Path
    landed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall time


def sample_dataset(settings: Settings, scale: float, seed: int) -> tuple[Path, bool]:
    """The generated sample for (scale, seed) under $TTW_HOME/sample; (folder, newly made)."""
    from ttw_dev.generate import generate

    folder = settings.home_dir / "sample" / f"scale{scale:g}-seed{seed}"
    if (folder / "_manifest.json").exists():
        return folder, False
    generate(folder, scale=scale, seed=seed)
    return folder, True


def platform_connections(base_url: str, token: str, platforms: list[str]) -> dict[str, str]:
    """``AIRFLOW_CONN_PLATFORM_<NAME>`` for each platform served at ``base_url``."""
    from ttw.extract.platform import connection_id

    host = base_url.split("://", 1)[1]
    return {f"AIRFLOW_CONN_{connection_id(p).upper()}": f"http://:{token}@{host}/{p}" for p in platforms}


def run_demo(settings: Settings, target: Target, *, scale: float, seed: int, say: Callable[[str], None]) -> DemoRun:
    """Every DAG in order over the sample; raises at the first DAG run that does not succeed."""
    from ttw.dbt_docs import DEFAULT_PORT, LOOPBACK, STATIC_PAGE
    from ttw.dbt_docs import generate as generate_docs
    from ttw.orchestrate import prepare_airflow, run_dag
    from ttw_dev.dataset import land_dataset, platform_resources
    from ttw_dev.platform_server import serve

    started = time.perf_counter()
    dataset, made = sample_dataset(settings, scale, seed)
    run = DemoRun(dataset)
    run.seconds["generate"] = time.perf_counter() - started
    say(f"sample {'generated' if made else 'reused'}: {dataset} (scale {scale:g}, seed {seed})")
    run.landed = land_dataset(dataset, settings.landing_dir)
    say(f"landed in {settings.landing_dir}: " + ", ".join(f"{n} {k} files" for k, n in run.landed.items()))

    started = time.perf_counter()
    prepare_airflow(settings, target)
    run.seconds["airflow db + dbt manifest"] = time.perf_counter() - started

    token = secrets.token_urlsafe(24)
    server = serve(dataset, port=0, token=token)  # loopback, a port of its own
    server.start_background()
    try:
        host, port = server.server_address[:2]
        env = platform_connections(f"http://{host}:{port}", token, list(platform_resources(dataset)))
        say(f"platform API served on http://{host}:{port} (token made up for this run)")
        for dag_id in DAG_ORDER:
            say(f"running DAG {dag_id} ...")
            started = time.perf_counter()
            outcome = run_dag(settings, target, dag_id, env=env)
            run.seconds[dag_id] = time.perf_counter() - started
            if not outcome.succeeded:
                failed = ", ".join(outcome.failed_tasks) or "none recorded"
                raise TTWError(f"DAG {dag_id} ended {outcome.state} (failed tasks: {failed}); see the task logs above")
            say(f"DAG {dag_id}: {outcome.state} in {run.seconds[dag_id]:.1f} s")
    finally:
        server.shutdown()
        server.server_close()
    started = time.perf_counter()
    docs = generate_docs(settings, target)
    run.seconds["dbt docs"] = time.perf_counter() - started
    say(f"dbt docs: open {docs / STATIC_PAGE} (offline), or `ttw docs serve` for http://{LOOPBACK}:{DEFAULT_PORT}/")
    return run


def top_centers(target: Target, limit: int = 5) -> tuple[int | None, list[tuple]]:
    """The newest evaluation year and its best centers: (code, name, total score, grade)."""
    with connect(target) as conn:
        year = conn.execute("select max(evaluation_year) from marts.rpt_center_performance").fetchone()[0]
        rows = conn.execute(
            "select center_code, center_name, total_score, grade from marts.rpt_center_performance"
            " where evaluation_year = %s order by total_score desc, center_code limit %s",
            (year, limit),
        ).fetchall()
    return year, rows


def quality_summary(target: Target) -> dict[str, int]:
    """The newest audit's checks: total, passed, failed critical, failed warning."""
    with connect(target) as conn:
        row = conn.execute(
            "select count(*), count(*) filter (where success),"
            " count(*) filter (where not success and severity = 'critical'),"
            " count(*) filter (where not success and severity = 'warning')"
            " from ops.quality_results where run_id = ("
            "  select run_id from ops.quality_results order by run_at desc limit 1)"
        ).fetchone()
    if row is None:
        raise TTWError("no audit recorded in ops.quality_results")
    return dict(zip(("checks", "passed", "failed critical", "failed warning"), row, strict=True))
