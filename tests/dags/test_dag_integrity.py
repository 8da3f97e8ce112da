"""The DAG files: they import, carry the expected settings, and do no I/O when parsed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ttw.settings import PROJECT_ROOT

EXPECTED = {"ingest_contract_registry", "build_warehouse"}
DAG_FILES = sorted((PROJECT_ROOT / "dags").glob("*.py"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_one_per_file_named_after_the_file(dagbag):
    assert set(dagbag.dag_ids) == EXPECTED
    for dag_id, dag in dagbag.dags.items():
        assert dag.fileloc.endswith(f"/dags/{dag_id}.py")
    assert {f.stem for f in DAG_FILES} == EXPECTED


def test_every_dag_is_documented_tagged_and_retried(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md, dag_id
        assert dag.doc_md.strip(), dag_id
        assert "ttw" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        assert dag.start_date.tzinfo is not None, dag_id
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id}"


def test_build_is_scheduled_by_the_ingest_asset(dagbag):
    ingest = dagbag.dags["ingest_contract_registry"]
    build = dagbag.dags["build_warehouse"]
    produced = {asset.uri for task in ingest.tasks for asset in task.outlets}
    consumed = {asset.uri for asset in build.timetable.asset_condition.objects}
    assert consumed == {"ttw://warehouse/raw/registry_contracts"}
    assert consumed <= produced


def test_parsing_a_dag_file_opens_no_connection_and_starts_no_process(tmp_path):
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
            [sys.executable, "-c", probe, str(dag_file)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{dag_file.name}: {result.stderr[-2000:]}"
        assert result.stdout.strip().endswith("parsed")
