"""A client of the Airflow REST API (v2) for the scheduler suite, and a poll with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass
class Api:
    """The Airflow REST API (v2) of the local Airflow."""

    client: httpx.Client

    def get(self, path: str, **params) -> dict:
        answer = self.client.get(f"/api/v2{path}", params=params)
        answer.raise_for_status()
        return answer.json()

    def unpause(self, dag_id: str) -> None:
        self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        answer = self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        answer.raise_for_status()
        return answer.json()["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        """Every run of the DAG, oldest first."""
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def tasks(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task_id (with [map index]) -> state, of one run."""
        found = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=200)["task_instances"]
        return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"] for t in found}

    def log(self, dag_id: str, run_id: str, task_id: str, attempt: int = 1) -> str:
        answer = self.client.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{attempt}",
            params={"full_content": True},
            headers={"Accept": "application/json"},
        )
        answer.raise_for_status()
        content = answer.json()["content"]
        return "\n".join(str(part.get("event", part)) if isinstance(part, dict) else str(part) for part in content)

    def settled(self, dag_ids: tuple[str, ...]) -> bool:
        """No run of these DAGs is queued or running."""
        return all(run["state"] not in ("queued", "running") for d in dag_ids for run in self.runs(d))


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 3.0):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
