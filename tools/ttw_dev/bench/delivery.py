"""``ttw bench delivery``: one new registry month to BI, by the CLI chain and by the scheduler.

A generated dataset is loaded into a scratch database (``ttw_bench_delivery``) two months
behind, then built, audited and published. Then, in the same run and at the same scale:

1. ``cli``: the next month through ``ttw ingest contracts`` + ``ttw build --changed`` +
   ``ttw audit`` + ``ttw publish``, four commands run one after another, each timed;
2. ``scheduler``: a local Airflow (scheduler, DAG processor, triggerer, API server,
   LocalExecutor; started before the clock runs, as in production) with
   ``ingest_contract_registry`` and ``build_warehouse`` unpaused; the last month lands in its
   landing folder and the ingest is triggered through the REST API. Timed from the trigger
   until ``build_warehouse`` has published, with each task's own duration from the API: the
   rest is the scheduler's own latency (queueing, starting task processes).

Reported: seconds per step of each path, their totals and scheduler ÷ CLI against the
target of 1.5.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ttw.build import build
from ttw.ingest import MARKER
from ttw.local_airflow import LocalAirflow, wait_until
from ttw.publish import publish
from ttw.quality import audit
from ttw.settings import Settings
from ttw.warehouse import Target, reset_layers
from ttw_dev.bench.load import bench_target
from ttw_dev.dataset import ingest_dataset, registry_months

BENCH_DB = "ttw_bench_delivery"
AIRFLOW_DB = "ttw_bench_airflow"
TARGET_RATIO = 1.5
DAGS = ("ingest_contract_registry", "build_warehouse")


def _timed(steps: dict[str, float], name: str, call) -> None:
    started = time.perf_counter()
    call()
    steps[name] = round(time.perf_counter() - started, 2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seconds(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return round((dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds(), 2)


def run(settings: Settings, target: Target, dataset: Path) -> dict:
    scratch = bench_target(target, BENCH_DB)
    metadata = bench_target(target, AIRFLOW_DB)
    home = settings.home_dir / "bench" / "delivery-home"
    shutil.rmtree(home, ignore_errors=True)
    bench_settings = Settings(
        **{
            **settings.model_dump(),
            "home": home,
            "airflow_port": _free_port(),
            "airflow_db_url": metadata.url.replace("postgresql://", "postgresql+psycopg2://", 1),
            "settle_seconds": 0,
        }
    )
    reset_layers(scratch)
    months = list(registry_months(dataset).items())
    (cli_month, cli_files), (dag_month, dag_files) = months[-2], months[-1]
    ingest_dataset(scratch, dataset, hold_back_months=2)
    build(bench_settings, scratch)
    audit(bench_settings, scratch)
    publish(bench_settings, scratch)

    # the CLI chain as an operator runs it: four `ttw` commands, each a process of its own
    env = {**os.environ, "TTW_HOME": str(home), "TTW_WAREHOUSE_URL": scratch.url}
    ttw = str(Path(sys.executable).with_name("ttw"))
    cli: dict[str, float] = {}
    for step, args in (
        ("ttw ingest contracts", ["ingest", "contracts", *map(str, cli_files)]),
        ("ttw build --changed", ["build", "--changed"]),
        ("ttw audit", ["audit"]),
        ("ttw publish", ["publish"]),
    ):
        _timed(cli, step, lambda args=args: subprocess.run([ttw, *args], env=env, check=True, capture_output=True))

    airflow = LocalAirflow(bench_settings, scratch, extra_env={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"})
    airflow.start()
    try:
        api = airflow.api()
        wait_until(lambda: {d["dag_id"] for d in api.get("/dags", limit=100)["dags"]} >= set(DAGS), 300, "the DAGs")
        for dag_id in DAGS:
            api.unpause(dag_id)
        wait_until(lambda: api.settled(DAGS), 600, "the first scheduled ingest (nothing to load)")
        builds_before = len(api.runs("build_warehouse"))
        landing = bench_settings.landing_dir / "contracts"
        landing.mkdir(parents=True, exist_ok=True)
        for path in dag_files:
            shutil.copy2(path, landing / path.name)
            (landing / f"{path.name}{MARKER}").touch()
        started = time.perf_counter()
        ingest_run = api.trigger("ingest_contract_registry")
        build_run = wait_until(
            lambda: (
                next((r for r in api.runs("build_warehouse")[builds_before:] if r["state"] == "success"), None)
                or _fail_if_failed(api)
            ),
            1800,
            "build_warehouse to publish the new month",
            interval=1,
        )
        scheduler_total = round(time.perf_counter() - started, 2)
        runs = (("ingest_contract_registry", ingest_run), ("build_warehouse", build_run["dag_run_id"]))
        tasks = {
            ti["task_id"]: _seconds(ti["start_date"], ti["end_date"])
            for dag_id, run_id in runs
            for ti in api.task_instances(dag_id, run_id)
        }
    finally:
        airflow.stop()
    cli_total = round(sum(cli.values()), 2)
    in_tasks = round(sum(tasks.values()), 2)
    return {
        "command": f"ttw bench delivery --data {dataset}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "months": {"cli": cli_month, "scheduler": dag_month},
        "cli": cli,
        "cli_seconds": cli_total,
        "scheduler_tasks": tasks,
        "scheduler_seconds": scheduler_total,
        "scheduler_latency_seconds": round(scheduler_total - in_tasks, 2),
        "ratio": round(scheduler_total / cli_total, 2) if cli_total else None,
        "target_ratio": TARGET_RATIO,
    }


def _fail_if_failed(api) -> None:
    failed = [r for r in api.runs("build_warehouse") + api.runs("ingest_contract_registry") if r["state"] == "failed"]
    if failed:
        raise RuntimeError(f"a DAG run failed during the benchmark: {failed[-1]['dag_id']} {failed[-1]['dag_run_id']}")
