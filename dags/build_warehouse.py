"""
### Build and publish the warehouse

Runs `dbt build` (seeds, models, data tests and unit tests) into `marts_build`, audits
it (the dbt tests' results plus the Great Expectations suites in `expectations/`, results
in `ops.quality_results`, Data Docs under `$TTW_HOME/out/data_docs`), then publishes the
audited tables to `marts`, the only schema BI tools read, in one transaction. A failing
dbt test or critical check stops the run before publishing, so `marts` keeps the
previous good data.

Scheduled by the `raw.registry_contracts` asset. Param `full_refresh` rebuilds
incremental models from scratch.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from ttw.assets import MARTS, RAW_REGISTRY_CONTRACTS


@dag(
    schedule=[RAW_REGISTRY_CONTRACTS],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["ttw", "dbt", "publish"],
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=1), "retry_exponential_backoff": 2.0},
    params={"full_refresh": Param(False, type="boolean", description="Rebuild incremental models from scratch.")},
    doc_md=__doc__,
)
def build_warehouse():
    @task
    def dbt_build(params: dict | None = None) -> None:
        from ttw.build import build
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        output = build(get_settings(), target_from_airflow(), full_refresh=bool(params and params.get("full_refresh")))
        print(output)

    @task
    def audit_build() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from ttw.quality import audit
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        result = audit(get_settings(), target_from_airflow())
        failed = [
            f"{c.suite}: {c.expectation} ({c.column or '-'}) observed {c.observed}" for c in result.failed_critical
        ]
        summary = {"run_id": result.run_id, "checks": len(result.checks), "failed_critical": failed}
        if failed:
            # the data is at fault, not the infrastructure: retrying cannot help
            raise AirflowFailException(f"audit failed, marts not published: {'; '.join(failed[:5])}")
        return summary

    @task(outlets=[MARTS])
    def publish_marts() -> dict:
        from ttw.publish import publish
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        return publish(get_settings(), target_from_airflow())

    dbt_build() >> audit_build() >> publish_marts()


build_warehouse()
