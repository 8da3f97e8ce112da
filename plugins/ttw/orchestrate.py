"""Run the project's Airflow DAGs locally: the environment they need, and ``dag.test()``.

Airflow reads its configuration when it is first imported, so DAG runs happen in a child
process started with :func:`airflow_env`. The child (``python -m ttw.orchestrate``) runs
the DAG with ``dag.test()`` and exits 0 only when the DagRun succeeded: ``dag.test()``
itself returns normally when a task failed.

Airflow's metadata lives in PostgreSQL, in database ``airflow`` of the warehouse's server
(or ``TTW_AIRFLOW_DB_URL``), never in SQLite: the scheduler, its LocalExecutor workers and
the API server write it at once, which SQLite cannot take. The secrets Airflow's parts
must share (the JWT key the API server checks task tokens with, the Fernet key) are made
once per ``$TTW_HOME`` and kept in ``airflow/secrets.json``, readable by this user only.
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

AIRFLOW_DB = "airflow"


def airflow_db_url(settings: Settings, target: Target) -> str:
    """Airflow's metadata database as a SQLAlchemy URL: TTW_AIRFLOW_DB_URL, else database
    ``airflow`` on the warehouse's server."""
    if settings.airflow_db_url:
        return settings.airflow_db_url
    from dataclasses import replace

    return replace(target, dbname=AIRFLOW_DB).url.replace("postgresql://", "postgresql+psycopg2://", 1)


def ensure_airflow_db(settings: Settings, target: Target) -> None:
    """Create database ``airflow`` on the warehouse's server when it is missing (not with
    TTW_AIRFLOW_DB_URL: that database is the operator's)."""
    if settings.airflow_db_url:
        return
    from dataclasses import replace

    from psycopg import sql

    from ttw.warehouse import connect

    with connect(replace(target, dbname="postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (AIRFLOW_DB,)).fetchone():
            return
        try:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(AIRFLOW_DB)))
        except Exception as exc:  # no CREATEDB on an external server
            raise TTWError(
                f"cannot create Airflow's metadata database {AIRFLOW_DB!r} on {target.host}:{target.port} ({exc}):"
                " create it, or set TTW_AIRFLOW_DB_URL"
            ) from None


def airflow_secrets(settings: Settings) -> dict[str, str]:
    """The keys every Airflow process of this home must share, made on first use."""
    import secrets

    path = settings.airflow_home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    from cryptography.fernet import Fernet

    values = {
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
    }
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def airflow_env(settings: Settings, target: Target) -> dict[str, str]:
    """The environment for any Airflow process of this project (CLI, dag.test, the local
    scheduler and API server)."""
    env = dict(os.environ)
    env.update(TELEMETRY_OFF)
    env.update(airflow_secrets(settings))
    base_url = f"http://127.0.0.1:{settings.airflow_port}"
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
            "AIRFLOW__API__PORT": str(settings.airflow_port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_db_url(settings, target),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
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
    """What any Airflow process of the project needs first: its metadata database, migrated."""
    migrate_airflow_db(settings, target)


def migrate_airflow_db(settings: Settings, target: Target) -> None:
    """Airflow's metadata database, created and migrated; the project's pool in it."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    ensure_airflow_db(settings, target)
    result = subprocess.run(
        [_airflow_executable(), "db", "migrate"], env=airflow_env(settings, target), capture_output=True, text=True
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TTWError(f"airflow db migrate failed:\n{tail}")
    from ttw.dagkit import WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS

    pool = subprocess.run(
        [_airflow_executable(), "pools", "set", WAREHOUSE_POOL, str(WAREHOUSE_POOL_SLOTS), WAREHOUSE_POOL_NOTE],
        env=airflow_env(settings, target),
        capture_output=True,
        text=True,
    )
    if pool.returncode != 0:
        raise TTWError(f"airflow pools set {WAREHOUSE_POOL} failed: {(pool.stdout + pool.stderr).strip()[-500:]}")


WAREHOUSE_POOL_NOTE = "Tasks that load into or build the warehouse: what its server takes at once."


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
