"""
### Ingest the center rosters and annual reports

Loads the bureau's center rosters (`centers_YYYY.csv`, from `$TTW_HOME/landing/centers`)
into `raw.center_roster`, then the centers' annual report workbooks
(`年度报告_{center_code}_{year}.xlsx`, from `$TTW_HOME/landing/reports`) into
`raw.report_*`, one atomic batch per file. Rosters go first: staging checks each report
against the roster in force that year. A file already loaded is skipped. The asset
event goes out only when a new batch loaded: nothing new skips the task, and a delivery
whose every file was rejected fails it at once. An unreadable workbook fails the run (no
retries) with the file, sheet and cell named, after the good files are loaded; a workbook with a
missing sheet still loads and the gap is kept in `ops.load_rejects`. A file is taken once
it has been unchanged for `TTW_SETTLE_SECONDS` (default 30 s) or has `NAME.done` beside
it; one still being written waits for the next run.

Params: `year` loads only that year's roster and reports (a backfill or a late
re-delivery); `landing_dir` reads `centers/` and `reports/` under another folder, one under
the landing root `$TTW_HOME/landing` (or under a folder of `TTW_LANDING_ROOTS`): any other
path fails the run.

Emits `raw.center_reports`, which schedules `build_warehouse`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ttw.assets import RAW_CENTER_REPORTS
from ttw.dagkit import DAG_DEFAULTS, WAREHOUSE_POOL


@dag(
    schedule="@daily",
    tags=["ttw", "ingest", "centers"],
    params={
        "year": Param(None, type=["null", "string"], pattern=r"^\d{4}$", description="Only this year's files."),
        "landing_dir": Param(None, type=["null", "string"], description="Folder holding centers/ and reports/."),
    },
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def ingest_center_reports():
    @task(pool=WAREHOUSE_POOL, outlets=[RAW_CENTER_REPORTS])
    def load_rosters_and_reports(params: dict | None = None) -> dict:
        """Rosters, then report workbooks; bad files are reported downstream."""
        from ttw.dagkit import earlier_tries_batches, ingest_outcome, landing_folder
        from ttw.ingest import ingest_centers, ingest_reports
        from ttw.settings import get_settings
        from ttw.sources import families_of, in_period
        from ttw.warehouse import target_from_airflow

        params = params or {}
        settings = get_settings()
        landing = landing_folder(params.get("landing_dir"), settings.landing_dir, settings)
        target = target_from_airflow()
        year, settle = params.get("year"), settings.settle_seconds
        reports = {
            "centers": ingest_centers(target, [landing / "centers"], settle=settle, only=in_period("centers", year)),
            "reports": ingest_reports(target, [landing / "reports"], settle=settle, only=in_period("reports", year)),
        }
        earlier = earlier_tries_batches(target, families_of("ingest_center_reports"))
        return ingest_outcome(reports, str(landing), earlier=earlier)

    @task
    def fail_on_rejected_files(outcome: dict) -> None:
        """The good files are loaded (and the asset sent); a rejected file still fails the run."""
        from ttw.dagkit import fail_on_errors

        fail_on_errors(outcome)

    fail_on_rejected_files(load_rosters_and_reports())


ingest_center_reports()
