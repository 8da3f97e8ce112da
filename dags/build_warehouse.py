"""
### Build, audit and publish the warehouse: one run, one build

Write-audit-publish as one unit, so only one build is ever on its way to BI:

1. `dbt_build` runs `dbt build` (seeds, models and their tests, with dbt's threads) into
   `marts_build`, over the load batches committed when it starts, holding the
   `marts_build` stage lock for the whole dbt run. Only what lies downstream of the sources
   that gained rows is built (`ttw build --changed`); with nothing new the task is
   skipped and so is the rest of the run (no audit, no publish, no `marts` event). Every
   node's result lands in `ops.dbt_results` under this run's id. A failed model or test
   fails the run without retries (the data or the project is at fault); a crash of dbt
   itself is retried.
2. `audit_build` checks that build (its dbt results and every Great Expectations suite);
   a failed critical check fails the run without retries and `marts` keeps the previous
   good data.
3. `publish_marts` replaces the tables of `marts`, the only schema BI tools read, in one
   transaction.

The build id is pinned: the audit and the publish act on this run's build only. When
`marts_build` holds another build by then (a `ttw build` from the command line), they
refuse, naming both builds, and `marts` stays as it was. Runs never overlap
(`max_active_runs=1`); deliveries that arrive meanwhile queue their asset events, which
start one next run when this one ends.

Scheduled by any of the raw assets; emits `marts`, which schedules `evaluate_centers`.
Param `full_refresh` rebuilds everything, the incremental models from scratch (after a
seed change, or to prove an incremental build equals a full one).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ttw.assets import MARTS, RAW_CENTER_REPORTS, RAW_PLATFORM_RECORDS, RAW_REGISTRY_CONTRACTS
from ttw.dagkit import DAG_DEFAULTS, WAREHOUSE_POOL


@dag(
    schedule=(RAW_REGISTRY_CONTRACTS | RAW_CENTER_REPORTS | RAW_PLATFORM_RECORDS),
    tags=["ttw", "dbt", "build", "quality", "publish"],
    params={"full_refresh": Param(False, type="boolean", description="Rebuild everything, incremental models anew.")},
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def build_warehouse():
    @task(pool=WAREHOUSE_POOL)
    def dbt_build(run_id: str | None = None, params: dict | None = None) -> dict:
        """`dbt build` of what the new batches touch, under this run's id; skipped when nothing is new."""
        from ttw.dagkit import run_build

        return run_build(run_id, full_refresh=bool((params or {}).get("full_refresh")))

    @task(pool=WAREHOUSE_POOL)
    def audit_build(build: dict) -> dict:
        """dbt results plus the GX suites, of this run's build; a failed critical check stops the publish."""
        from ttw.dagkit import run_audit

        return run_audit(build["build_id"])

    @task(pool=WAREHOUSE_POOL, outlets=[MARTS])
    def publish_marts(audited: dict) -> dict:
        """Replace the tables of marts with this run's audited build, in one transaction."""
        from ttw.dagkit import run_publish

        return run_publish(audited["build_id"])

    publish_marts(audit_build(dbt_build()))


build_warehouse()
