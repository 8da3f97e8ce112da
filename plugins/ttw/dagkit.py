"""What every DAG of the project shares: start date, retries, failure reporting.

Import-light (no database, no dbt): the DAG files import it at parse time.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum

if TYPE_CHECKING:
    from ttw.ingest import IngestReport
    from ttw.settings import Settings

log = logging.getLogger("ttw.airflow")

START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")


def failure_summary(context: dict[str, Any]) -> str:
    """One line an operator can act on: which task of which run, which try, and why."""
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    reason = (str(exception).strip().splitlines() or [""])[0] if exception else str(context.get("reason") or "")
    kind = type(exception).__name__ if exception else "failure"
    if ti is None:  # a DAG-level callback
        run = context.get("dag_run")
        return f"TTW FAILED dag={getattr(run, 'dag_id', '?')} run={getattr(run, 'run_id', '?')}: {reason}"
    index = getattr(ti, "map_index", -1)
    mapped = f"[{index}]" if index is not None and index >= 0 else ""
    tries = getattr(ti, "max_tries", None)
    attempt = f"{ti.try_number}/{tries + 1}" if isinstance(tries, int) else str(ti.try_number)
    return f"TTW FAILED dag={ti.dag_id} task={ti.task_id}{mapped} run={ti.run_id} try={attempt}: {kind}: {reason[:500]}"


def on_failure(context: dict[str, Any]) -> None:
    """Task and DAG failure callback: log the summary where the operator looks (the task log)."""
    log.error(failure_summary(context))


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "ttw",
    "retries": 2,
    "retry_delay": pendulum.duration(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": pendulum.duration(minutes=10),
    "on_failure_callback": on_failure,
}

# what every project DAG passes to @dag: no catch-up of missed intervals (the ingest DAGs
# pick up whatever landed; backfills go through params), one run at a time
DAG_DEFAULTS: dict[str, Any] = {
    "start_date": START_DATE,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
    "on_failure_callback": on_failure,
}


def ingest_outcome(reports: dict[str, IngestReport], where: str) -> dict[str, Any]:
    """Log what the ingest calls did; skip (no asset event, no rebuild) when nothing new landed.

    Files that could not be loaded are returned as ``errors`` for :func:`fail_on_errors`:
    the good files' asset event goes out first, so the build does not wait for the fix.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    for report in reports.values():
        for batch in report.batches:
            log.info(batch.summary)
        for problem in report.problems:
            log.warning("kept in ops.load_rejects: %s", problem)
        for note in report.notes:  # waiting, skipped, not a delivery: each by name
            log.warning("%s", note)
    errors = [message for report in reports.values() for message in report.errors]
    if not errors and all(batch.skipped for report in reports.values() for batch in report.batches):
        raise AirflowSkipException(f"nothing new in {where}")
    return {
        "files": {name: len(report.batches) for name, report in reports.items()},
        "rows_loaded": sum(report.rows_loaded for report in reports.values()),
        "errors": errors,
    }


def fail_on_errors(outcome: dict[str, Any]) -> None:
    """Fail, without retries, when a delivery was rejected: a bad file does not mend itself."""
    from airflow.sdk.exceptions import AirflowFailException

    if outcome["errors"]:
        raise AirflowFailException("; ".join(outcome["errors"]))


def landing_folder(param: str | None, default: Path, settings: Settings) -> Path:
    """The folder an ingest DAG reads: ``default``, or the ``landing_dir`` param when it lies
    under the landing root (TTW_HOME/landing) or a folder of TTW_LANDING_ROOTS, links
    resolved. Any other path fails the run, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    if not param:
        return default
    chosen = Path(param).expanduser().resolve()
    roots = [settings.landing_dir, *settings.landing_roots]
    if any(chosen.is_relative_to(root.expanduser().resolve()) for root in roots):
        return chosen
    allowed = f" or TTW_LANDING_ROOTS ({', '.join(map(str, settings.landing_roots))})" if settings.landing_roots else ""
    raise AirflowFailException(
        f"landing_dir {param!r} is outside the landing root {settings.landing_dir}{allowed}: name a folder under it,"
        " or add its parent to TTW_LANDING_ROOTS"
    )
