"""Small pieces the DAGs share: failure summaries, platform endpoints, landing-file selection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ttw.dagkit import failure_summary
from ttw.errors import TTWError
from ttw.extract.platform import catalogue, endpoint_from_connection
from ttw.pipeline import landed_files
from ttw.settings import PROJECT_ROOT


def test_a_task_failure_is_one_line_naming_task_run_try_and_cause():
    ti = SimpleNamespace(
        dag_id="ingest_platform_exports",
        task_id="extract_resource",
        run_id="manual__1",
        try_number=2,
        max_tries=2,
        map_index=4,
    )
    error = TTWError("http://127.0.0.1:9/tech_market/api/v1/loans: 503 after 8 retries\nmore detail")
    line = failure_summary({"ti": ti, "exception": error})
    assert line == (
        "TTW FAILED dag=ingest_platform_exports task=extract_resource[4] run=manual__1 try=2/3: "
        "TTWError: http://127.0.0.1:9/tech_market/api/v1/loans: 503 after 8 retries"
    )


def test_a_dag_failure_names_the_run_and_the_reason():
    run = SimpleNamespace(dag_id="build_warehouse", run_id="asset_triggered__7")
    line = failure_summary({"dag_run": run, "reason": "task_failure"})
    assert line == "TTW FAILED dag=build_warehouse run=asset_triggered__7: task_failure"


def test_a_platform_connection_gives_base_url_and_token():
    conn = SimpleNamespace(
        conn_id="platform_tech_market",
        conn_type="http",
        host="127.0.0.1",
        port=8765,
        schema="tech_market",
        password="s3cret",
    )
    assert endpoint_from_connection(conn) == ("http://127.0.0.1:8765/tech_market", "s3cret")
    tls = SimpleNamespace(
        conn_id="platform_finance",
        conn_type="https",
        host="api.example.org",
        port=None,
        schema="/finance/",
        password="t",
    )
    assert endpoint_from_connection(tls) == ("https://api.example.org/finance", "t")
    with pytest.raises(TTWError, match=r"platform_finance.*token"):
        endpoint_from_connection(SimpleNamespace(**{**vars(tls), "password": None}))


def test_the_platform_catalogue_is_the_seed():
    platforms = catalogue(PROJECT_ROOT / "dbt_project" / "seeds" / "platforms.csv")
    assert platforms["tech_market"] == ["achievements", "demands", "matches"]
    assert sorted(r for resources in platforms.values() for r in resources) == sorted(
        ["achievements", "demands", "matches", "challenges", "financing_needs", "loans"]
    )


def test_landed_files_pick_a_period(tmp_path):
    for name in ("contracts_202312.csv", "contracts_202401.csv", "contracts_202402.xlsx", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "2024").mkdir()
    for name in ("年度报告_C1_2023.xlsx", "年度报告_C1_2024.xlsx"):
        (tmp_path / "2024" / name).write_text("x")
    assert [p.name for p in landed_files(tmp_path, "contracts", "202401")] == ["contracts_202401.csv"]
    assert [p.name for p in landed_files(tmp_path, "contracts", "2024")] == [
        "contracts_202401.csv",
        "contracts_202402.xlsx",
    ]
    assert len(landed_files(tmp_path, "contracts")) == 3
    assert [p.name for p in landed_files(tmp_path, "reports", "2023")] == ["年度报告_C1_2023.xlsx"]
