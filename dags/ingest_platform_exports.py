"""
### Ingest the platform exports

Reads every platform's API (docs/sources.md) from where the last run stopped: one mapped task
per platform and resource (`achievements`, `demands`, `challenges`, `matches`,
`financing_needs`, `loans`, as the `platforms` seed lists them), each paging with
`updated_since` from its watermark in `ops.watermarks` and committing page by page into
`raw.platform_records`. 429s (with `Retry-After`), 5xx and timeouts are retried inside
the task, then by Airflow with exponential backoff; the watermark never moves past what
is committed, so a retry resumes without loss or duplicates. A record the platform gets
wrong (a bad id, an impossible or future `updated_at`, a NUL or NaN) is rejected alone into
`ops.load_rejects`; a cursor given twice, or a listing past `TTW_PLATFORM_MAX_PAGES`, stops
the task with a clear error (docs/reliability.md, "Platform client").

Each platform's endpoint and bearer token come from the Airflow connection
`platform_<name>`, e.g. `AIRFLOW_CONN_PLATFORM_TECH_MARKET=http://:TOKEN@host:8765/tech_market`
(the token is the password, so Airflow masks it in logs). A platform without a
connection is left out with a warning.

Params: `platforms` limits the run to those platforms; `page_size` is the page asked for.

Emits `raw.platform_records` when records arrived, which schedules `build_warehouse`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ttw.assets import RAW_PLATFORM_RECORDS
from ttw.dagkit import DAG_DEFAULTS, WAREHOUSE_POOL


@dag(
    schedule="@hourly",
    tags=["ttw", "ingest", "platform"],
    params={
        "platforms": Param([], type="array", items={"type": "string"}, description="Only these (default: all)."),
        "page_size": Param(500, type="integer", minimum=1, maximum=5000, description="Records per page."),
    },
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def ingest_platform_exports():
    @task
    def plan_extracts(params: dict | None = None) -> list[dict]:
        """One (platform, resource) per mapped extract, for the platforms with a connection."""
        import logging

        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowSkipException

        from ttw.extract.platform import catalogue, connection_id
        from ttw.settings import get_settings

        wanted = set((params or {}).get("platforms") or [])
        plan = []
        for platform, resources in catalogue(get_settings().dbt_project_dir / "seeds" / "platforms.csv").items():
            if wanted and platform not in wanted:
                continue
            try:
                Connection.get(connection_id(platform))
            except AirflowNotFoundException:
                logging.getLogger("ttw.airflow").warning(
                    "no connection %r: platform %s left out", connection_id(platform), platform
                )
                continue
            plan.extend({"platform": platform, "resource": resource} for resource in resources)
        if not plan:
            raise AirflowSkipException("no platform has a connection (AIRFLOW_CONN_PLATFORM_<NAME>)")
        return plan

    @task(
        pool=WAREHOUSE_POOL,
        outlets=[RAW_PLATFORM_RECORDS],
        max_active_tis_per_dag=3,
        map_index_template="{{ extract_label }}",
    )
    def extract_resource(item: dict, params: dict | None = None) -> dict:
        """Page one resource of one platform from its watermark; skipped when nothing changed."""
        import datetime as dt

        from airflow.sdk import Connection, get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from ttw.extract.platform import connection_id, endpoint_from_connection
        from ttw.ingest import ingest_platform
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        get_current_context()["extract_label"] = f"{item['platform']}/{item['resource']}"  # the map index's name
        base_url, token = endpoint_from_connection(Connection.get(connection_id(item["platform"])))
        settings = get_settings()
        (run,) = ingest_platform(
            target_from_airflow(),
            base_url,
            token,
            resources=[item["resource"]],
            platform=item["platform"],
            page_size=int((params or {}).get("page_size") or 500),
            max_pages=settings.platform_max_pages,
            future_tolerance=dt.timedelta(hours=settings.platform_future_tolerance_hours),
        )
        print(run.summary)
        for problem in run.problems:
            print(f"rejected (kept in ops.load_rejects): {problem}")
        if not run.loaded:
            raise AirflowSkipException(run.summary)  # nothing new: no asset event
        return {"platform": run.platform, "resource": run.resource, "loaded": run.loaded}

    extract_resource.expand(item=plan_extracts())


ingest_platform_exports()
