"""The DAGs run end to end with dag.test() against the real warehouse."""

from __future__ import annotations

import shutil

import pytest
from expected import latest_contracts, qingdao_turnover

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
        facts = conn.execute("select count(*) from marts.fct_tech_contracts").fetchone()[0]
        report = conn.execute(
            "select sum(contract_count)::int, sum(contract_amount) from marts.rpt_contract_turnover_monthly"
        ).fetchone()
    expected = qingdao_turnover(latest_contracts(sample_contracts))
    assert facts == 60
    assert report == (sum(c for c, _ in expected.values()), sum(a for _, a in expected.values()))

    # a second run finds nothing new: the ingest task is skipped and sends no asset event
    again = run_dag(settings, clean_target, "ingest_contract_registry")
    assert again.state == "success"
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 1


def test_a_bad_file_fails_the_run_after_the_good_ones_load(
    airflow_db, settings, clean_target, sample_contracts, tmp_path
):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy2(sample_contracts, landing / "contracts_202401.csv")
    lines = sample_contracts.read_text(encoding="utf-8").splitlines()
    lines[3] += ",an extra field"
    (landing / "contracts_202402.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    outcome = run_dag(settings, clean_target, "ingest_contract_registry", {"landing_dir": str(landing)})
    assert outcome.state == "failed"
    assert outcome.failed_tasks == ("fail_on_rejected_files",)
    with connect(clean_target) as conn:
        batches = conn.execute("select source_uri, rows_loaded from ops.load_batches").fetchall()
        raw = conn.execute("select count(*) from raw.registry_contracts").fetchone()[0]
    assert batches == [(str(landing / "contracts_202401.csv"), 62)]
    assert raw == 62
