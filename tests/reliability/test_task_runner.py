"""The report reader inside an Airflow task process.

Airflow's task runner starts a task with ``.venv/bin/airflow`` as ``__main__`` (a script that
imports airflow first) and gives it ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow-db-not-allowed:///``,
(``block_orm_access``, run in the task process once airflow is imported), so that a task never
reaches the metadata database. A child process that re-imports that
``__main__`` (the "spawn" and "forkserver" ways of starting one) imports airflow under that
setting and dies, and every try of the task fails. The case runs the real ingest in such a
process, on more workbooks than the reader reads in one process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from ledger import assert_ledger_balances

from ttw.ingest import ensure_raw_tables
from ttw.warehouse import connect

# what .venv/bin/airflow does first, then what the ingest_center_reports task does
TASK_MAIN = textwrap.dedent(
    """
    import airflow  # noqa: F401  (the task runner's __main__ imports airflow at its top)
    import sys
    from pathlib import Path

    from airflow.sdk.execution_time.supervisor import block_orm_access

    from ttw.ingest import ingest_reports
    from ttw.settings import get_settings
    from ttw.warehouse import resolve_target

    if __name__ == "__main__":
        block_orm_access()  # what the supervisor does in the task process before the task runs
        report = ingest_reports(resolve_target(get_settings()), [Path(sys.argv[1])])
        print("loaded", len(report.batches), "errors", len(report.errors))
        for error in report.errors[:5]:
            print(error)
        sys.exit(0 if report.ok else 1)
    """
)


def test_reports_ingest_in_an_airflow_task_process(clean_target, settings, small_dataset, tmp_path: Path):
    workbooks = sorted((small_dataset / "reports").rglob("年度报告_*.xlsx"))
    assert len(workbooks) >= 130  # more than the 128 from which the reader once started worker processes
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in workbooks:
        shutil.copy2(path, folder / path.name)
    ensure_raw_tables(clean_target)
    script = tmp_path / "airflow_task.py"
    script.write_text(TASK_MAIN, encoding="utf-8")
    env = {
        **os.environ,
        "TTW_HOME": str(settings.home_dir),
    }
    if clean_target.embedded:
        env["TTW_WAREHOUSE_PORT"] = str(clean_target.port)

    task = subprocess.run(
        [sys.executable, str(script), str(folder)], env=env, capture_output=True, text=True, timeout=600
    )

    assert task.returncode == 0, task.stdout + task.stderr[-3000:]
    assert "BrokenProcessPool" not in task.stderr
    assert f"loaded {len(workbooks)} errors 0" in task.stdout
    with connect(clean_target) as conn:
        loaded = conn.execute(
            "select count(*), count(*) filter (where rows_loaded > 0) from ops.load_batches"
            " where source_family = 'center_reports'"
        ).fetchone()
    assert loaded == (len(workbooks), len(workbooks))
    assert_ledger_balances(clean_target)
