"""
### Build and publish the warehouse

Runs `dbt build` (seeds, models, data tests and unit tests) into `marts_build`, then
publishes the audited tables to `marts`, the only schema BI tools read, in one
transaction. A failing dbt test stops the run before publishing, so `marts` keeps the
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

    @task(outlets=[MARTS])
    def publish_marts() -> dict:
        from ttw.publish import publish
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        return publish(get_settings(), target_from_airflow())

    dbt_build() >> publish_marts()


build_warehouse()
