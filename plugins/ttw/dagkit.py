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


# Tasks that load into or build the warehouse share this pool: the server's two cores take
# a few statements at once, not every mapped task the scheduler could start
# (`ttw.orchestrate.migrate_airflow_db` creates it).
WAREHOUSE_POOL = "warehouse"
WAREHOUSE_POOL_SLOTS = 4

# No task of the project should run longer than this; a hung load or dbt run fails (and
# is retried) instead of holding the run, the pool and the stage locks for ever.
EXECUTION_TIMEOUT = pendulum.duration(hours=2)

# The Airflow connection a failure is sent to: an http(s) webhook (the JSON body
# {"text": ..., "dag_id": ..., ...} is POSTed to it) or an smtp server (extra: {"to": ...}).
# Without it, failures are only logged.
ALERT_CONNECTION = "ttw_alerts"


def failure_summary(context: dict[str, Any]) -> str:
    """One line an operator can act on: which task of which run, which try, and why."""
    return failure_details(context)["text"]


def failure_details(context: dict[str, Any]) -> dict[str, Any]:
    """What failed, as fields and as one line (``text``).

    A task's callback names the task, its map index, the try out of all it gets (retries + 1)
    and the exception. A DAG's callback (no exception in its context) names the run, the
    reason Airflow gives and the failed task it points at, if any.
    """
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    run = context.get("dag_run")
    if exception is None and (ti is None or "reason" in context):  # a DAG-level callback
        dag_id = getattr(run, "dag_id", None) or getattr(ti, "dag_id", "?")
        run_id = getattr(run, "run_id", None) or getattr(ti, "run_id", "?")
        reason = str(context.get("reason") or "failed")
        task = f" (failed task: {ti.task_id})" if ti is not None else ""
        return {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": getattr(ti, "task_id", None),
            "reason": reason,
            "text": f"TTW FAILED dag={dag_id} run={run_id}: {reason}{task}",
        }
    reason = (str(exception).strip().splitlines() or [""])[0] if exception else str(context.get("reason") or "")
    kind = type(exception).__name__ if exception else "failure"
    index = getattr(ti, "map_index", -1)
    mapped = f"[{index}]" if index is not None and index >= 0 else ""
    task = context.get("task")
    retries = getattr(task, "retries", None)
    if not isinstance(retries, int):
        tries = getattr(ti, "max_tries", None)
        retries = tries if isinstance(tries, int) else None
    attempt = f"{ti.try_number}/{retries + 1}" if retries is not None else str(ti.try_number)
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": index,
        "try": attempt,
        "reason": f"{kind}: {reason[:500]}",
        "text": f"TTW FAILED dag={ti.dag_id} task={ti.task_id}{mapped} run={ti.run_id} try={attempt}: "
        f"{kind}: {reason[:500]}",
    }


def _notifier_base():
    try:
        from airflow.sdk import BaseNotifier
    except ImportError:  # outside Airflow (unit tests of the message)
        return object
    return BaseNotifier


class FailureNotifier(_notifier_base()):
    """Airflow notifier for every task and DAG failure of the project: logs the summary
    (the task log, or the DAG processor's), then sends it to the ``ttw_alerts`` connection
    when one is configured (off by default). A failed send is logged, never raised: the
    alert must not hide the failure it reports."""

    template_fields = ()

    def render_template_fields(self, context, jinja_env=None) -> None:
        """Nothing to render; and a DAG's callback may get a serialized DAG that has no
        template environment to render with."""

    def notify(self, context: dict[str, Any]) -> None:
        try:
            details = failure_details(context)
        except Exception as exc:  # a context of an unexpected shape: still say that something failed
            details = {"text": f"TTW FAILED (the failure's context could not be read: {exc!r})"}
        log.error(details["text"])
        try:
            send_alert(details)
        except Exception as exc:
            log.warning("could not send the failure alert through %r: %s", ALERT_CONNECTION, exc)


def send_alert(details: dict[str, Any], connection=None) -> bool:
    """Send one failure to the alert connection; False when none is configured."""
    if connection is None:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            connection = Connection.get(ALERT_CONNECTION)
        except AirflowNotFoundException:
            return False
    kind = (connection.conn_type or "").lower()
    if kind in ("http", "https"):
        import json
        import urllib.request

        port = f":{connection.port}" if connection.port else ""
        path = (connection.schema or "").strip("/")
        url = f"{'https' if kind == 'https' else 'http'}://{connection.host}{port}/{path}"
        request = urllib.request.Request(
            url,
            data=json.dumps(details, ensure_ascii=False, default=str).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            return True
    if kind in ("smtp", "email"):
        import json

        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        extra = json.loads(connection.extra or "{}")
        SmtpNotifier(
            to=extra["to"],
            from_email=extra.get("from_email"),
            smtp_conn_id=ALERT_CONNECTION,
            subject=details["text"][:150],
            html_content=details["text"],
        ).notify({})
        return True
    raise ValueError(f"connection {ALERT_CONNECTION!r} is of type {kind!r}: expected http, https or smtp")


on_failure = FailureNotifier()


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "ttw",
    "retries": 2,
    "retry_delay": pendulum.duration(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": pendulum.duration(minutes=10),
    "execution_timeout": EXECUTION_TIMEOUT,
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


def earlier_tries_batches(target, families: tuple[str, ...]) -> int:
    """On a retry: the live batches of ``families`` an earlier try of this DAG run committed
    (they count as new for the asset event, which that try never sent); 0 on a first try."""
    from airflow.sdk import get_current_context

    from ttw.warehouse import connect

    context = get_current_context()
    if context["ti"].try_number <= 1:
        return 0
    with connect(target) as conn:
        return conn.execute(
            "select count(*) from ops.load_batches where source_family = any(%s) and loaded_at >= %s"
            " and retracted_at is null",
            (list(families), context["dag_run"].start_date),
        ).fetchone()[0]


def ingest_outcome(reports: dict[str, IngestReport], where: str, *, earlier: int = 0) -> dict[str, Any]:
    """Log what the ingest calls did; the task's asset event goes out only when a new batch loaded.

    Nothing new and nothing wrong: skipped (no asset event, no rebuild). Nothing new but
    files rejected: failed at once, naming them (no asset event either). New batches and
    rejected files: returned with ``errors`` for :func:`fail_on_errors`, so the good files'
    asset event goes out first and the build does not wait for the fix. ``earlier``: batches
    an earlier try of the same run committed (:func:`earlier_tries_batches`), new as well.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    for report in reports.values():
        for batch in report.batches:
            log.info(batch.summary)
        for problem in report.problems:
            log.warning("kept in ops.load_rejects: %s", problem)
        for note in report.notes:  # waiting, skipped, not a delivery: each by name
            log.warning("%s", note)
    errors = [message for report in reports.values() for message in report.errors]
    new = sum(not batch.skipped for report in reports.values() for batch in report.batches) + earlier
    if not new:
        if errors:
            raise AirflowFailException(f"nothing loaded from {where}: " + "; ".join(errors))
        raise AirflowSkipException(f"nothing new in {where}")
    return {
        "files": {name: len(report.batches) for name, report in reports.items()},
        "new_batches": new,
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


# --- build_warehouse: build, audit and publish one pinned build ------------------------


def _definitive(exc: Exception) -> Exception:
    """A refusal (:class:`ttw.errors.Refusal`: another build, a failed or unaudited build) becomes
    AirflowFailException, without retries; anything else (a lost connection, a stage lock held
    elsewhere) stays as it is and is retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from ttw.errors import Refusal

    return AirflowFailException(str(exc)) if isinstance(exc, Refusal) else exc


def run_build(build_id: str, *, full_refresh: bool = False) -> dict[str, Any]:
    """``ttw build --changed`` (or ``--full-refresh``) under ``build_id``.

    Skipped, with the audit and the publish, only when nothing is new and the build
    ``marts_build`` holds is the one last published. Nothing new but an unpublished build
    there (an earlier try of this run whose dbt finished, a ``ttw build`` from the command
    line, a build whose audit failed): this run's own build is the one that passed dbt, or
    it builds every node under its id (the incremental models take nothing new), so the
    audit and the publish always act on a whole build of this run.
    A failed model or test fails without retries, naming the nodes; dbt failing on its own
    (a lost connection, a crash) is retried.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from ttw.build import NOTHING_CHANGED, build, build_state
    from ttw.errors import TTWError
    from ttw.publish import last_published_build
    from ttw.quality import build_outcome
    from ttw.settings import get_settings
    from ttw.warehouse import target_from_airflow

    settings, target = get_settings(), target_from_airflow()
    try:
        output = build(settings, target, changed=not full_refresh, full_refresh=full_refresh, build_id=build_id)
        if output == NOTHING_CHANGED:
            state = build_state(target)
            if state is None or state.build_id == last_published_build(target):
                raise AirflowSkipException(f"{NOTHING_CHANGED}, and marts hold the last build")
            if (state.build_id, state.passed) != (build_id, True):  # not this run's own passed build
                log.info(
                    "nothing new, but build %s in marts_build was never published: building every node", state.build_id
                )
                build(settings, target, build_id=build_id)
    except TTWError as exc:
        outcome = build_outcome(target, build_id)
        if outcome["failed"]:
            failed = outcome["failed"]
            raise AirflowFailException(
                f"dbt build {build_id}: {len(failed)} node(s) failed ({', '.join(failed[:8])}); marts not published"
            ) from exc
        raise
    outcome = build_outcome(target, build_id)
    log.info("dbt build %s: %d nodes passed", build_id, outcome["nodes"])
    return {"build_id": build_id, "nodes": outcome["nodes"]}


def run_audit(build_id: str) -> dict[str, Any]:
    """Audit the pinned build; fail without retries on a failed critical check or another build."""
    from airflow.sdk.exceptions import AirflowFailException

    from ttw.errors import TTWError
    from ttw.quality import audit
    from ttw.settings import get_settings
    from ttw.warehouse import target_from_airflow

    try:
        result = audit(get_settings(), target_from_airflow(), build_id=build_id)
    except TTWError as exc:
        raise _definitive(exc) from exc
    failed = [f"{c.suite}: {c.expectation} ({c.column or '-'}) observed {c.observed}" for c in result.failed_critical]
    warnings = sum(1 for c in result.checks if not c.success and c.severity == "warning")
    log.info(
        "audit %s: %d checks, %d critical, %d warnings failed", result.run_id, len(result.checks), len(failed), warnings
    )
    if failed:
        raise AirflowFailException(f"audit of build {build_id} failed, marts not published: {'; '.join(failed[:5])}")
    return {"build_id": build_id, "audit_id": result.run_id, "checks": len(result.checks)}


def run_publish(build_id: str) -> dict[str, Any]:
    """Publish the pinned, audited build; a refusal fails without retries."""
    from ttw.errors import TTWError
    from ttw.publish import publish
    from ttw.settings import get_settings
    from ttw.warehouse import target_from_airflow

    try:
        tables = publish(get_settings(), target_from_airflow(), build_id=build_id)
    except TTWError as exc:
        raise _definitive(exc) from exc
    return {"build_id": build_id, "tables": tables}
