"""
### Ingest the contract registry

Loads the contract registry exports (`contracts_YYYYMM.csv` or `.xlsx`) found in the
landing folder `$TTW_HOME/landing/contracts` into `raw.registry_contracts`, one atomic
batch per file. A file already loaded (same SHA-256) is skipped, so re-running is safe;
the asset event goes out only when a new batch loaded: with nothing new the task is
skipped, and a delivery whose every file was rejected fails it at once. A bad file fails
the run (without retries: it will not mend itself) with a message naming the file and
line; the other files are loaded and their asset event sent first, so the build does not
wait for the fix. A file is taken once it has been unchanged for `TTW_SETTLE_SECONDS`
(default 30 s) or has `NAME.done` beside it; one still being written waits for the next
run. Links out of the folder are refused and fail the run; anything else that is not a
delivery (a FIFO, a file named like no export) is listed by name and never read.

Params: `month` (YYYYMM, or YYYY for a whole year) loads only that period's exports, for
a backfill or a re-delivery; `landing_dir` reads another folder under the landing root
`$TTW_HOME/landing` (or under a folder of `TTW_LANDING_ROOTS`): any other path fails the run.

Emits `raw.registry_contracts`, which schedules `build_warehouse`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ttw.assets import RAW_REGISTRY_CONTRACTS
from ttw.dagkit import DAG_DEFAULTS, WAREHOUSE_POOL


@dag(
    schedule="@daily",
    tags=["ttw", "ingest", "registry"],
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^\d{4}(\d{2})?$", description="YYYYMM or YYYY."),
        "landing_dir": Param(None, type=["null", "string"], description="Folder to read instead of landing/."),
    },
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def ingest_contract_registry():
    @task(pool=WAREHOUSE_POOL, outlets=[RAW_REGISTRY_CONTRACTS])
    def load_contract_exports(params: dict | None = None) -> dict:
        """Load the exports in the landing folder; bad files are reported downstream."""
        from ttw.dagkit import earlier_tries_batches, ingest_outcome, landing_folder
        from ttw.ingest import ingest_contracts
        from ttw.settings import get_settings
        from ttw.sources import families_of, in_period
        from ttw.warehouse import target_from_airflow

        params = params or {}
        settings = get_settings()
        landing = landing_folder(params.get("landing_dir"), settings.landing_dir / "contracts", settings)
        target = target_from_airflow()
        report = ingest_contracts(
            target,
            [landing],
            settle=settings.settle_seconds,
            only=in_period("contracts", params.get("month")),
        )
        earlier = earlier_tries_batches(target, families_of("ingest_contract_registry"))
        return ingest_outcome({"contracts": report}, str(landing), earlier=earlier)

    @task
    def fail_on_rejected_files(outcome: dict) -> None:
        """The good files are loaded (and the asset sent); a rejected file still fails the run."""
        from ttw.dagkit import fail_on_errors

        fail_on_errors(outcome)

    fail_on_rejected_files(load_contract_exports())


ingest_contract_registry()
