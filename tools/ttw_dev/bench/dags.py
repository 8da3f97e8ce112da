"""``ttw bench dags``: how long each DAG file takes to parse.

Two figures per file:

- ``cold``: the file run in a fresh interpreter that has already imported ``airflow.sdk``,
  as Airflow's DAG processor parses a file in a child of a process with Airflow loaded
  (the median and the slowest of ``runs``); this includes what the file imports itself;
- ``dagbag``: Airflow's own timing of the file in one ``DagBag`` of the whole folder
  (what ``airflow dags report`` shows), where shared imports are already paid.

The processor gives up on a file after ``dagbag_import_timeout`` (30 s by default); the
project's budget is 2 s a file.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from ttw.orchestrate import airflow_env
from ttw.settings import Settings
from ttw.warehouse import Target

PROBE = """
import runpy, sys, time
import airflow.sdk
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print(f"TTW_PARSE_SECONDS {time.perf_counter() - started:.4f}")
"""

DAGBAG_PROBE = """
from airflow.dag_processing.dagbag import DagBag
import os
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
assert not bag.import_errors, bag.import_errors
for stat in bag.dagbag_stats:
    print("TTW_DAGBAG", stat.file.rsplit("/", 1)[-1], f"{stat.duration.total_seconds():.4f}", stat.task_num)
"""


def _seconds(output: str, marker: str) -> list[list[str]]:
    return [line.split()[1:] for line in output.splitlines() if line.startswith(marker)]


def run(settings: Settings, target: Target, runs: int = 5) -> dict:
    """Parse times of every file in dags/, in seconds."""
    env = airflow_env(settings, target)
    files = sorted(settings.dags_dir.glob("*.py"))
    cold: dict[str, list[float]] = {}
    for _ in range(runs):  # alternate the files, so no file always runs on a warm disk cache
        for path in files:
            result = subprocess.run(
                [sys.executable, "-c", PROBE, str(path)], env=env, capture_output=True, text=True, check=True
            )
            cold.setdefault(path.name, []).append(float(_seconds(result.stdout, "TTW_PARSE_SECONDS")[0][0]))
    result = subprocess.run([sys.executable, "-c", DAGBAG_PROBE], env=env, capture_output=True, text=True, check=True)
    dagbag = {name: (float(seconds), int(tasks)) for name, seconds, tasks in _seconds(result.stdout, "TTW_DAGBAG")}
    return {
        "runs": runs,
        "files": [
            {
                "file": name,
                "cold_median_s": round(statistics.median(times), 3),
                "cold_max_s": round(max(times), 3),
                "dagbag_s": round(dagbag[name][0], 3),
                "tasks": dagbag[name][1],
            }
            for name, times in cold.items()
        ],
    }
