"""The DAGs run end to end with dag.test() against the real warehouse."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import psycopg
import pytest
from generated import PLATFORM_TOKEN, newest_valid_contracts

from ttw.orchestrate import prepare_airflow, run_dag
from ttw.publish import table_indexes
from ttw.quality import load_suites
from ttw.roles import BI_READER, apply_roles
from ttw.warehouse import connect, table_checksums
from ttw_dev.bench.query import queries as bench_query_files
from ttw_dev.bench.query import run as bench_queries
from ttw_dev.dataset import land_dataset, platform_resources
from ttw_dev.demo import DAG_ORDER, platform_connections

BI_PASSWORD = "bi-reader-test-password"


@pytest.fixture(scope="module")
def airflow_db(settings, target, dag_env):
    prepare_airflow(settings, target)


def test_the_whole_chain_runs_through_airflow_and_publishes_marts(
    airflow_db, settings, clean_target, small_dataset, platform_server
):
    # roles first: the tables publish creates must be readable through default privileges
    apply_roles(clean_target, {BI_READER: BI_PASSWORD})
    landing = settings.landing_dir
    shutil.rmtree(landing, ignore_errors=True)
    land_dataset(small_dataset, landing)
    server = platform_server()
    env = platform_connections(server.base_url, PLATFORM_TOKEN, list(platform_resources(small_dataset)))

    outcomes = {dag_id: run_dag(settings, clean_target, dag_id, env=env) for dag_id in DAG_ORDER}
    assert {d: o.state for d, o in outcomes.items()} == dict.fromkeys(DAG_ORDER, "success"), outcomes

    build_run = outcomes["build_warehouse"].run_id
    manifest = json.loads((settings.home_dir / "dbt" / "target" / "manifest.json").read_text())
    expected_nodes = {u for u, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed", "test")}
    expected_nodes |= set(manifest["unit_tests"])
    assert len(expected_nodes) > 400
    with connect(clean_target) as conn:
        # every model, seed and test of the project ran in that DAG run's build, and passed
        results = dict(
            conn.execute(
                "select distinct on (unique_id) unique_id, status from ops.dbt_results where build_id = %s"
                " and resource_type in ('model', 'seed', 'test', 'unit_test') order by unique_id, recorded_at desc",
                (build_run,),
            ).fetchall()
        )
        audited = conn.execute("select distinct dbt_build_id from ops.quality_results").fetchall()
        # one row per check of the audit: every dbt node and every GX expectation
        checks = dict(conn.execute("select suite = 'dbt', count(*) from ops.quality_results group by 1").fetchall())
        facts = conn.execute("select count(*) from marts.fct_tech_contracts").fetchone()[0]
        platform = conn.execute("select count(distinct (platform, resource)) from raw.platform_records").fetchone()[0]
        watermarks = conn.execute("select count(*) from ops.watermarks").fetchone()[0]
        newest_year = conn.execute("select max(evaluation_year) from marts.rpt_center_performance").fetchone()[0]
    assert set(results) == expected_nodes
    assert set(results.values()) <= {"pass", "success"}
    assert audited == [(build_run,)]
    suites = load_suites(settings.project_dir / "expectations" / "suites")
    assert checks == {True: len(expected_nodes), False: sum(len(suite["expectations"]) for suite in suites)}
    assert "<html" in (settings.out_dir / "data_docs" / "index.html").read_text(encoding="utf-8").lower()
    published = table_checksums(clean_target, "marts")
    assert published == table_checksums(clean_target, "marts_build")
    assert facts == len(newest_valid_contracts(small_dataset))
    served = sum(len(r) for r in platform_resources(small_dataset).values())
    assert platform == watermarks == served
    out = settings.out_dir / "evaluation" / str(newest_year)
    assert (out / f"centers_{newest_year}.xlsx").stat().st_size > 0
    assert (out / f"centers_{newest_year}_en.xlsx").stat().st_size > 0
    assert "<svg" in (out / "report" / f"centers_{newest_year}.html").read_text(encoding="utf-8")

    # BI logs in as bi_reader: every published table is readable, nothing else is
    bi = f"host={clean_target.host} port={clean_target.port} dbname={clean_target.dbname} user={BI_READER}"
    with psycopg.connect(f"{bi} password={BI_PASSWORD}", autocommit=True) as conn:
        for table in published:
            conn.execute(f"select count(*) from marts.{table}").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.registry_contracts")

    # the BI tables carry the indexes their models declare, and every benchmark query
    # answers from the published marts as bi_reader
    with connect(clean_target) as conn:
        for table in published:
            assert table_indexes(conn, "marts", table).keys() == table_indexes(conn, "marts_build", table).keys()
        fact_indexes = table_indexes(conn, "marts", "fct_tech_contracts")
    assert "USING btree (seller_region_code, registered_on)" in fact_indexes
    figures = bench_queries(replace(clean_target, user=BI_READER, password=BI_PASSWORD), runs=3)
    assert set(figures["queries"]) == set(bench_query_files())
    assert all(query["rows"] > 0 and query["p95_ms"] > 0 for query in figures["queries"].values())


def test_a_bad_file_fails_the_run_after_the_good_ones_load(
    airflow_db, settings, clean_target, sample_contracts, tmp_path, capfd
):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy2(sample_contracts, landing / "contracts_202401.csv")
    lines = sample_contracts.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("contract_amount", "contract_sum")  # a header the registry never exports
    (landing / "contracts_202402.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = run_dag(settings, clean_target, "ingest_contract_registry", {"landing_dir": str(landing)})
    assert outcome.state == "failed"
    assert outcome.failed_tasks == ("fail_on_rejected_files",)
    with connect(clean_target) as conn:
        batches = conn.execute("select source_uri, rows_loaded from ops.load_batches").fetchall()
        raw = conn.execute("select count(*) from raw.registry_contracts").fetchone()[0]
    assert batches == [(str(landing / "contracts_202401.csv"), 62)]
    assert raw == 62
    # the failure callback's one-line summary names the task, the run and the bad file
    logged = capfd.readouterr()
    summary = [line for line in (logged.out + logged.err).splitlines() if "TTW FAILED" in line]
    assert any(
        "dag=ingest_contract_registry task=fail_on_rejected_files" in line and "contracts_202402.csv" in line
        for line in summary
    ), summary

    # a second run of the good month alone (a backfill by param) loads nothing new: skipped, no asset event
    conf = {"landing_dir": str(landing), "month": "202401"}
    again = run_dag(settings, clean_target, "ingest_contract_registry", conf)
    assert again.state == "success"
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 1
