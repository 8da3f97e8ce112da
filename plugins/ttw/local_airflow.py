"""A local Airflow: scheduler, DAG processor, triggerer and API server, started and stopped together.

``make airflow`` (``ttw local-airflow``) runs Airflow as it runs in production, only on one
machine: the LocalExecutor, metadata in PostgreSQL (:func:`ttw.orchestrate.airflow_db_url`),
the UI and REST API on ``127.0.0.1:TTW_AIRFLOW_PORT``. Each part runs in a session of its
own, so a Ctrl-C reaches this supervisor only; it then stops every part (SIGTERM, then
SIGKILL after a grace period) and, when it started the embedded warehouse, that too. A part
that dies stops the others: a half-running Airflow would look healthy and do nothing.

Each part's output goes to ``$TTW_HOME/airflow/logs/<part>.log``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ttw.errors import TTWError
from ttw.orchestrate import _airflow_executable, airflow_env, prepare_airflow
from ttw.settings import Settings
from ttw.warehouse import Target

PARTS = ("api-server", "scheduler", "dag-processor", "triggerer")
GRACE_SECONDS = 30.0


@dataclass
class LocalAirflow:
    settings: Settings
    target: Target
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.airflow_port}"

    def api(self) -> AirflowApi:
        return AirflowApi(self.base_url)

    def log_path(self, part: str) -> Path:
        return self.settings.airflow_home / "logs" / f"{part}.log"

    def start(self, *, ready_timeout: float = 180.0) -> None:
        """Migrate the metadata database, start every part, wait until the API answers."""
        prepare_airflow(self.settings, self.target)
        env = {**airflow_env(self.settings, self.target), **self.extra_env}
        for part in PARTS:
            log = self.log_path(part)
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as handle:
                self.processes[part] = subprocess.Popen(
                    [_airflow_executable(), part],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: Ctrl-C goes to the supervisor only
                )
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise

    def dead_part(self) -> str | None:
        """The first part that has exited, with its exit code and log, or None."""
        for part, process in self.processes.items():
            if process.poll() is not None:
                return f"airflow {part} exited with code {process.returncode}: see {self.log_path(part)}"
        return None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        api = self.api()
        while time.monotonic() < deadline:
            if (dead := self.dead_part()) is not None:
                raise TTWError(dead)
            try:
                if api.get("/monitor/health").get("scheduler", {}).get("status") == "healthy":
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise TTWError(
            f"Airflow did not become healthy at {self.base_url} within {timeout:g} s: see {self.log_path('')}"
        )

    def stop(self) -> None:
        """SIGTERM every part, SIGKILL what is left after the grace period, and then every process
        a part started: Airflow starts each task in a process group of its own, so a task (and
        the dbt or COPY it runs) would outlive its part."""
        import psutil

        started: list[psutil.Process] = []
        for process in self.processes.values():
            with contextlib.suppress(psutil.Error):
                started.extend(psutil.Process(process.pid).children(recursive=True))
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(deadline - time.monotonic(), 0.1))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)
            process.wait()
        for child in started:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(started, timeout=10)
        self.processes.clear()

    def __enter__(self) -> LocalAirflow:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


@dataclass
class AirflowApi:
    """The Airflow REST API (v2) of a running Airflow, as an operator uses it."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    timeout: float = 30.0

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=self.timeout, **kwargs)
        answer.raise_for_status()
        return answer

    def get(self, path: str, **params) -> dict:
        return self._call("GET", path, params=params).json()

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        answer = self._call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return answer.json()["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        """Every run of the DAG, oldest first."""
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=200)["task_instances"]

    def tasks(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task_id (with [map index]) -> state, of one run."""
        found = self.task_instances(dag_id, run_id)
        return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"] for t in found}

    def log(self, dag_id: str, run_id: str, task_id: str, attempt: int = 1) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{attempt}"
        content = self._call("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})
        parts = content.json()["content"]
        return "\n".join(str(part.get("event", part)) if isinstance(part, dict) else str(part) for part in parts)

    def settled(self, dag_ids: tuple[str, ...]) -> bool:
        """No run of these DAGs is queued or running, and no asset event waits to start one."""
        if any(run["state"] in ("queued", "running") for d in dag_ids for run in self.runs(d)):
            return False
        return all(self.get(f"/dags/{d}/assets/queuedEvents")["total_entries"] == 0 for d in dag_ids)


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 3.0):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def serve(settings: Settings) -> int:
    """Run the local Airflow in the foreground until Ctrl-C (or SIGTERM) or a part dies; exit code."""
    from ttw.warehouse import embedded_running, ensure_warehouse, resolve_target, stop_embedded

    class Stop(Exception):
        pass

    def on_signal(signum, frame):
        raise Stop

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started_warehouse = resolve_target(settings).embedded and not embedded_running(settings)
    airflow: LocalAirflow | None = None
    code = 0
    try:
        airflow = LocalAirflow(settings, ensure_warehouse(settings))
        airflow.start()
        password = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
        print(f"Airflow is up at {airflow.base_url} (user admin, password in {password}); Ctrl-C stops it")
        while (dead := airflow.dead_part()) is None:
            time.sleep(1)
        print(dead)
        code = 1
    except Stop:
        pass
    finally:
        # a second Ctrl-C must not cut the clean-up short
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        print("stopping Airflow ...")
        if airflow is not None:
            airflow.stop()
        if started_warehouse and embedded_running(settings):
            stop_embedded(settings)
            print("embedded warehouse stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
