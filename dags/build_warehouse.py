"""
### Build the warehouse with dbt

Runs the dbt project through astronomer-cosmos: one task per seed and model, each a
`dbt build` of that node with its own tests (those over it and its sources), in
dependency order; a failing test stops the models downstream of it. The tests that span
models (relationships between facts and dimensions, reconciliations of reports with
their facts) and the tests on sources alone run together in `dbt_tests_across_models`
once every model is built. Everything lands in `marts_build`; BI reads `marts`, which only
`audit_and_publish` writes.

The tasks are rendered from the parsed project (`$TTW_HOME/dbt/manifest/manifest.json`,
written by `ttw manifest`), so parsing this file runs no dbt. dbt's profile comes from the
Airflow connection `warehouse`. Every node's result lands in `ops.dbt_results` under this
run's id; `record_build` checks that the build is complete and announces it.

Scheduled by any of the raw assets; emits `marts_build`, which schedules
`audit_and_publish`. Param `full_refresh` rebuilds the incremental models from scratch
(after a seed change, or to prove an incremental build equals a full one).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from cosmos import DbtTaskGroup, DbtTestLocalOperator, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior, TestIndirectSelection
from cosmos.profiles import PostgresUserPasswordProfileMapping

from ttw.assets import MARTS_BUILD, RAW_CENTER_REPORTS, RAW_PLATFORM_RECORDS, RAW_REGISTRY_CONTRACTS
from ttw.build import dbt_executable, joint_tests, manifest_path
from ttw.dagkit import DAG_DEFAULTS
from ttw.settings import TELEMETRY_OFF, get_settings

settings = get_settings()
manifest = manifest_path(settings)
DBT = dbt_executable()
if not manifest.exists():
    raise FileNotFoundError(f"no dbt manifest at {manifest}: run `ttw manifest` (the DAG's tasks are rendered from it)")

PROFILE = ProfileConfig(
    profile_name="ttw",
    target_name="warehouse",
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id="warehouse", profile_args={"schema": "marts_build", "threads": 2}
    ),
)
DBT_ARGS = {
    "install_deps": False,
    "full_refresh": "{{ params.full_refresh }}",
    # every node's result is recorded under this run (macros/record_results.sql)
    "env": {**TELEMETRY_OFF, "TTW_BUILD_ID": "{{ run_id }}"},
}


@dag(
    schedule=(RAW_REGISTRY_CONTRACTS | RAW_CENTER_REPORTS | RAW_PLATFORM_RECORDS),
    tags=["ttw", "dbt", "build"],
    params={"full_refresh": Param(False, type="boolean", description="Rebuild incremental models from scratch.")},
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def build_warehouse():
    @task
    def prepare_warehouse() -> None:
        """Create the raw and ops tables dbt reads, even for a family that has not delivered yet,
        and fix the load batches this run reads (those committed now), once no build, audit or
        publish from the CLI holds the build lock."""
        from ttw.build import fix_build_batches
        from ttw.ingest import ensure_raw_tables
        from ttw.locks import MARTS_BUILD, stage_lock
        from ttw.warehouse import target_from_airflow

        target = target_from_airflow()
        with stage_lock(target, (MARTS_BUILD,), "build_warehouse", timeout=settings.lock_timeout_seconds):
            ensure_raw_tables(target)
            fix_build_batches(target)

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=settings.dbt_project_dir,
            manifest_path=manifest,
            project_name="ttw",
        ),
        profile_config=PROFILE,
        execution_config=ExecutionConfig(
            dbt_executable_path=DBT,
            invocation_mode=InvocationMode.DBT_RUNNER,
            test_indirect_selection=TestIndirectSelection.BUILDABLE,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
        ),
        operator_args=DBT_ARGS,
    )
    across_models = DbtTestLocalOperator(
        task_id="dbt_tests_across_models",
        project_dir=settings.dbt_project_dir,
        profile_config=PROFILE,
        dbt_executable_path=DBT,
        invocation_mode=InvocationMode.DBT_RUNNER,
        select=joint_tests(manifest),
        **DBT_ARGS,
    )

    @task(outlets=[MARTS_BUILD])
    def record_build(run_id: str | None = None) -> dict:
        """Check in ops.dbt_results that this run ran every node of the project and each passed;
        announce the build."""
        from airflow.sdk.exceptions import AirflowFailException

        from ttw.build import manifest_node_ids
        from ttw.quality import build_outcome
        from ttw.warehouse import target_from_airflow

        outcome = build_outcome(target_from_airflow(), run_id, manifest_node_ids(manifest))
        if outcome["failed"] or outcome["missing"]:
            failed, missing = outcome["failed"], outcome["missing"]
            raise AirflowFailException(
                f"dbt build {run_id} is not complete: {len(failed)} failed ({', '.join(failed[:5])}), "
                f"{len(missing)} never ran ({', '.join(missing[:5])})"
            )
        return {"build_id": run_id, "nodes": outcome["nodes"]}

    prepare_warehouse() >> dbt >> across_models >> record_build()


build_warehouse()
