"""
### Audit the build and publish it to BI

Write-audit-publish. `audit_build` checks `marts_build`: the newest dbt build's results
(`ops.dbt_results`) and every Great Expectations suite in `expectations/`; results go to
`ops.quality_results` and Data Docs to `$TTW_HOME/out/data_docs`. A failed critical
check fails the run without retries (the data is at fault, not the infrastructure) and
`marts` keeps the previous good data. Otherwise `publish_marts` replaces the tables of
`marts`, the only schema BI tools read, in one transaction, and grants `bi_reader`.

Scheduled by `marts_build`; emits `marts`, which schedules `evaluate_centers`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from ttw.assets import MARTS, MARTS_BUILD
from ttw.dagkit import DAG_DEFAULTS


@dag(
    schedule=[MARTS_BUILD],
    tags=["ttw", "quality", "publish"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def audit_and_publish():
    @task
    def audit_build() -> dict:
        """dbt results plus the GX suites; a failed critical check stops the publish."""
        from airflow.sdk.exceptions import AirflowFailException

        from ttw.quality import audit
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        result = audit(get_settings(), target_from_airflow())
        failed = [
            f"{c.suite}: {c.expectation} ({c.column or '-'}) observed {c.observed}" for c in result.failed_critical
        ]
        warnings = sum(1 for c in result.checks if not c.success and c.severity == "warning")
        summary = {"run_id": result.run_id, "build_id": result.dbt_build_id, "checks": len(result.checks)}
        print(f"audit {result.run_id}: {len(result.checks)} checks, {len(failed)} critical, {warnings} warnings failed")
        if failed:
            raise AirflowFailException(f"audit failed, marts not published: {'; '.join(failed[:5])}")
        return summary

    @task(outlets=[MARTS])
    def publish_marts() -> dict:
        """Replace the tables of marts with the audited ones, in one transaction."""
        from ttw.publish import publish
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        return publish(get_settings(), target_from_airflow())

    audit_build() >> publish_marts()


audit_and_publish()
