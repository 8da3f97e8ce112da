"""
### Ingest the contract registry

Loads every contract registry export (`contracts_YYYYMM.csv`) found in the landing folder
`$TTW_HOME/landing/contracts` into `raw.registry_contracts`, one atomic batch per file.
A file already loaded (same SHA-256) is skipped, so re-running is safe; when nothing new
landed the task is skipped and no asset event is sent. A bad file fails the run (without
retries: it will not mend itself) with a message naming the file and line; the other files
are loaded and their asset event sent first, so the build does not wait for the fix.

Emits the `raw.registry_contracts` asset, which schedules `build_warehouse`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from ttw.assets import RAW_REGISTRY_CONTRACTS


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["ttw", "ingest", "registry"],
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=1), "retry_exponential_backoff": 2.0},
    params={
        "landing_dir": Param(None, type=["null", "string"], description="Folder to read instead of the landing folder.")
    },
    doc_md=__doc__,
)
def ingest_contract_registry():
    @task(outlets=[RAW_REGISTRY_CONTRACTS])
    def load_contract_exports(params: dict | None = None) -> dict:
        """Load every export in the landing folder; bad files are reported downstream."""
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowSkipException

        from ttw.ingest import ingest_contracts
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        settings = get_settings()
        landing = (
            Path(params["landing_dir"]) if params and params.get("landing_dir") else settings.landing_dir / "contracts"
        )
        report = ingest_contracts(target_from_airflow(), [landing])
        for batch in report.batches:
            print(batch.summary)
        if report.ok and all(batch.skipped for batch in report.batches):
            # nothing new landed: no asset event, so no rebuild
            raise AirflowSkipException(f"no new contract exports in {landing}")
        return {"files": len(report.batches), "rows_loaded": report.rows_loaded, "errors": report.errors}

    @task
    def fail_on_rejected_files(result: dict) -> None:
        """The good files are loaded (and the asset sent); a rejected file still fails the run."""
        from airflow.sdk.exceptions import AirflowFailException

        if result["errors"]:
            # bad files do not mend themselves: fail now instead of retrying
            raise AirflowFailException("; ".join(result["errors"]))

    fail_on_rejected_files(load_contract_exports())


ingest_contract_registry()
