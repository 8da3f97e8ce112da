"""The DAGs run end to end with dag.test() against the real warehouse."""

from __future__ import annotations

import shutil

import pytest

from ttw.orchestrate import migrate_airflow_db, run_dag
from ttw.warehouse import connect


@pytest.fixture(scope="module")
def airflow_db(settings, target):
    migrate_airflow_db(settings, target)


def test_ingest_then_build_publishes_marts(airflow_db, settings, clean_target, sample_contracts):
    landing = settings.landing_dir / "contracts"
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    shutil.copy2(sample_contracts, landing / sample_contracts.name)

    ingest = run_dag(settings, clean_target, "ingest_contract_registry")
    assert ingest.state == "success", ingest
    build = run_dag(settings, clean_target, "build_warehouse")
    assert build.state == "success", build

    with connect(clean_target) as conn:
        facts = conn.execute("select count(*), sum(contract_amount) from marts.fct_tech_contracts").fetchone()
        report = conn.execute(
            "select sum(contract_count), sum(contract_amount) from marts.rpt_contract_turnover_monthly"
        ).fetchone()
        qingdao = conn.execute(
            "select count(*), sum(contract_amount) from marts.fct_tech_contracts"
            " where is_registered and seller_region_code like '3702%'"
        ).fetchone()
    assert facts[0] == 60
    assert report == qingdao
    assert report[0] > 0


def test_a_bad_file_fails_the_run_and_the_failure_is_reported(airflow_db, settings, clean_target, tmp_path):
    bad = tmp_path / "landing"
    bad.mkdir()
    (bad / "contracts_202409.csv").write_text("registration_no,project_name\n1,x\n", encoding="utf-8")

    outcome = run_dag(settings, clean_target, "ingest_contract_registry", {"landing_dir": str(bad)})
    assert outcome.state == "failed"
    assert outcome.failed_tasks == ("load_contract_exports",)
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 0
