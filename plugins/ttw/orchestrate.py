"""Run the project's Airflow DAGs locally: the environment they need, and ``dag.test()``.

Airflow reads its configuration when it is first imported, so DAG runs happen in a child
process started with :func:`airflow_env`. The child (``python -m ttw.orchestrate``) runs
the DAG with ``dag.test()`` and exits 0 only when the DagRun succeeded: ``dag.test()``
itself returns normally when a task failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from ttw.errors import TTWError
from ttw.settings import TELEMETRY_OFF, Settings
from ttw.warehouse import Target


def airflow_env(settings: Settings, target: Target) -> dict[str, str]:
    """The environment for any Airflow process of this project (CLI, dag.test, standalone)."""
    env = dict(os.environ)
    env.update(TELEMETRY_OFF)
    # `airflow standalone` starts its components as `airflow ...` by name: the project's
    # own environment comes first on PATH even when ttw was started by its full path.
    venv_bin = os.path.dirname(sys.executable)
    env.update(
        {
            "PATH": os.pathsep.join([venv_bin, env.get("PATH", "")]),
            "TTW_HOME": str(settings.home_dir),
            "AIRFLOW_HOME": str(settings.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.plugins_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW_CONN_WAREHOUSE": target.airflow_conn_uri(),
        }
    )
    return env


def _airflow_executable() -> str:
    return os.path.join(os.path.dirname(sys.executable), "airflow")


def airflow_cli(settings: Settings, target: Target, args: list[str]) -> int:
    """Run the ``airflow`` command with the project's environment; returns its exit code."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    return subprocess.call([_airflow_executable(), *args], env=airflow_env(settings, target))


def prepare_airflow(settings: Settings, target: Target) -> None:
    """What any Airflow process of the project needs first: its database and the dbt manifest."""
    from ttw.build import write_manifest

    write_manifest(settings, target)
    migrate_airflow_db(settings, target)


def migrate_airflow_db(settings: Settings, target: Target) -> None:
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_airflow_executable(), "db", "migrate"], env=airflow_env(settings, target), capture_output=True, text=True
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TTWError(f"airflow db migrate failed:\n{tail}")


@dataclass(frozen=True)
class DagRunOutcome:
    dag_id: str
    state: str
    run_id: str
    failed_tasks: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


def run_dag(
    settings: Settings,
    target: Target,
    dag_id: str,
    conf: dict | None = None,
    *,
    env: dict[str, str] | None = None,
    logical_date: dt.datetime | None = None,
) -> DagRunOutcome:
    """Run one DAG end to end with ``dag.test()`` in a child process; the outcome it reported.

    ``env`` adds variables to the child's environment, e.g. ``AIRFLOW_CONN_PLATFORM_*``;
    ``logical_date`` (default: now) names the run's interval: the same date again re-runs
    that run, its task instances cleared.
    """
    env = {**airflow_env(settings, target), **(env or {})}
    result_file = settings.airflow_home / f"last_run_{dag_id}.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "ttw.orchestrate", dag_id, json.dumps(conf or {}), str(result_file)]
    if logical_date is not None:
        cmd.append(logical_date.isoformat())
    subprocess.run(cmd, env=env, check=False)
    if not result_file.exists():
        raise TTWError(f"DAG {dag_id} did not run: see the output above (could it be parsed?)")
    data = json.loads(result_file.read_text())
    return DagRunOutcome(dag_id, data["state"], data["run_id"], tuple(data["failed_tasks"]))


def _test_dag_in_this_process(dag_id: str, conf: dict, result_path: str, logical_date: str | None = None) -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"import error in {path}:\n{error}", file=sys.stderr)
        return 2
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"no DAG {dag_id!r} in {bag.dag_folder}", file=sys.stderr)
        return 2
    when = {"logical_date": dt.datetime.fromisoformat(logical_date)} if logical_date else {}
    dag_run = dag.test(run_conf=conf, **when)
    failed = [ti.task_id for ti in dag_run.get_task_instances() if ti.state not in ("success", "skipped")]
    state = getattr(dag_run.state, "value", dag_run.state)
    with open(result_path, "w") as handle:
        json.dump({"state": state, "run_id": dag_run.run_id, "failed_tasks": failed}, handle)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(_test_dag_in_this_process(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], *sys.argv[4:5]))
