"""The DAG files: they import, carry the expected settings, and do no I/O when parsed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ttw import sources
from ttw.settings import PROJECT_ROOT

# an ingest DAG per source family's dag_id (the source registry), then the build and the rest
INGESTS = tuple(dict.fromkeys(family.dag_id for family in sources.FAMILIES))
EXPECTED = {*INGESTS, "build_warehouse", "evaluate_centers", "retract_batch"}
DAG_FILES = sorted((PROJECT_ROOT / "dags").glob("*.py"))
RAW_ASSETS = {"ttw://warehouse/" + name.replace(".", "/") for name in sources.assets()}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_one_per_file_named_after_the_file(dagbag):
    assert set(dagbag.dag_ids) == EXPECTED
    for dag_id, dag in dagbag.dags.items():
        assert dag.fileloc.endswith(f"/dags/{dag_id}.py")
    assert {f.stem for f in DAG_FILES} == EXPECTED


def test_every_dag_is_documented_tagged_retried_bounded_and_reports_failures(dagbag):
    from ttw.dagkit import EXECUTION_TIMEOUT, on_failure

    for dag_id, dag in dagbag.dags.items():
        assert (dag.doc_md or "").strip(), dag_id
        assert "ttw" in dag.tags, dag_id
        assert len(dag.tags) >= 2, dag_id
        assert dag.catchup is False, dag_id
        assert dag.start_date.tzinfo is not None, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert on_failure in _callbacks(dag.on_failure_callback), dag_id
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.retries >= 2, where
            assert task.retry_exponential_backoff, where
            assert task.execution_timeout == EXECUTION_TIMEOUT, where
            assert on_failure in _callbacks(task.on_failure_callback), where


def _callbacks(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def test_no_cycles_and_every_task_reachable_from_a_root(dagbag):
    for dag_id, dag in dagbag.dags.items():
        dag.check_cycle()  # raises on a cycle
        order = dag.topological_sort()
        assert len(order) == len(dag.tasks), dag_id


def test_the_assets_chain_the_dags(dagbag):
    def produced(dag_id: str) -> set[str]:
        return {asset.uri for task in dagbag.dags[dag_id].tasks for asset in task.outlets}

    def consumed(dag_id: str) -> set[str]:
        return {asset.uri for asset in dagbag.dags[dag_id].timetable.asset_condition.objects}

    assert INGESTS == ("ingest_contract_registry", "ingest_center_reports", "ingest_platform_exports")
    assert set().union(*(produced(d) for d in INGESTS)) == RAW_ASSETS
    for family in sources.FAMILIES:  # each family's DAG emits the family's asset
        assert "ttw://warehouse/" + family.asset.replace(".", "/") in produced(family.dag_id), family.name
    assert consumed("build_warehouse") == RAW_ASSETS
    assert produced("build_warehouse") == consumed("evaluate_centers") == {"ttw://warehouse/marts"}


def test_build_audit_and_publish_are_one_run_of_one_dag(dagbag):
    """One build on its way to BI at a time: build, audit and publish in order in one DAG
    (max_active_runs=1), the marts event from the publish alone, in the warehouse pool."""
    from ttw.dagkit import WAREHOUSE_POOL

    build = dagbag.dags["build_warehouse"]
    order = [task.task_id for task in build.topological_sort()]
    assert order == ["dbt_build", "audit_build", "publish_marts"]
    assert [task.task_id for task in build.tasks if task.outlets] == ["publish_marts"]
    assert {task.pool for task in build.tasks} == {WAREHOUSE_POOL}
    assert build.params["full_refresh"] is False


def test_the_tasks_that_load_use_the_warehouse_pool(dagbag):
    from ttw.dagkit import WAREHOUSE_POOL

    loading = {
        "ingest_contract_registry": "load_contract_exports",
        "ingest_center_reports": "load_rosters_and_reports",
        "ingest_platform_exports": "extract_resource",
    }
    for dag_id, task_id in loading.items():
        assert dagbag.dags[dag_id].get_task(task_id).pool == WAREHOUSE_POOL, dag_id


def test_the_ingest_dags_take_backfill_params(dagbag):
    assert "month" in dagbag.dags["ingest_contract_registry"].params
    assert "year" in dagbag.dags["ingest_center_reports"].params
    assert "year" in dagbag.dags["evaluate_centers"].params
    extract = dagbag.dags["ingest_platform_exports"].get_task("extract_resource")
    assert extract.outlets
    assert extract.max_active_tis_per_dag == 3


def test_every_dag_file_is_parsed_into_one_dag(dagbag):
    """Every file of dags/ is parsed, into one DAG each. How long parsing takes is measured by
    `ttw bench dags`, not asserted here: a timed assertion fails on a busy machine."""
    stats = {stat.file.rsplit("/", 1)[-1]: stat.dag_num for stat in dagbag.dagbag_stats}
    assert stats == {f.name: 1 for f in DAG_FILES}


def test_parsing_a_dag_file_opens_no_connection_and_starts_no_process(dag_env):
    """Each DAG file is imported under an audit hook that fails on sockets and subprocesses."""
    probe = textwrap.dedent(
        """
        import runpy, sys
        import airflow.sdk  # the SDK itself may set up state; the DAG file may not
        import ttw.assets

        def guard(event, args):
            if event in ("socket.connect", "subprocess.Popen", "os.system", "os.exec"):
                raise RuntimeError(f"DAG file did I/O at parse time: {event} {args!r}")

        sys.addaudithook(guard)
        runpy.run_path(sys.argv[1])
        print("parsed")
        """
    )
    for dag_file in DAG_FILES:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(dag_file)], capture_output=True, text=True, timeout=120, env=dag_env
        )
        assert result.returncode == 0, f"{dag_file.name}: {result.stderr[-2000:]}"
        assert result.stdout.strip().endswith("parsed")
