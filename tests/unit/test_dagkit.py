"""Small pieces the DAGs share: failure summaries, platform endpoints, landing-file selection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ttw.dagkit import failure_summary
from ttw.errors import TTWError
from ttw.extract.platform import catalogue, endpoint_from_connection
from ttw.settings import PROJECT_ROOT
from ttw.sources import landed_files


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


def test_the_try_count_is_out_of_the_tasks_retries_plus_one():
    """Airflow's task runner may hand the callback a TI whose max_tries is already 0: the
    count comes from the task's retries (the line read `try=3/1` before)."""
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=3, max_tries=0, map_index=-1)
    line = failure_summary({"ti": ti, "task": SimpleNamespace(retries=2), "exception": RuntimeError("boom")})
    assert line == "TTW FAILED dag=d task=t run=r try=3/3: RuntimeError: boom"


def test_a_dag_failure_names_the_failed_task_it_points_at():
    run = SimpleNamespace(dag_id="build_warehouse", run_id="asset_triggered__8")
    ti = SimpleNamespace(dag_id="build_warehouse", task_id="audit_build", run_id="asset_triggered__8", try_number=1)
    line = failure_summary({"dag_run": run, "ti": ti, "reason": "task_failure"})
    assert line == "TTW FAILED dag=build_warehouse run=asset_triggered__8: task_failure (failed task: audit_build)"


def test_a_failure_alert_is_posted_to_the_webhook_connection():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from ttw.dagkit import failure_details, send_alert

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=1, max_tries=2, map_index=-1)
        details = failure_details({"ti": ti, "exception": ValueError("bad file x.csv")})
        conn = SimpleNamespace(conn_type="http", host="127.0.0.1", port=server.server_address[1], schema="hooks/ttw")
        assert send_alert(details, conn) is True
    finally:
        server.server_close()
    assert received == [details]
    assert received[0]["text"].startswith("TTW FAILED dag=d task=t run=r try=1/3: ValueError: bad file x.csv")
    with pytest.raises(ValueError, match="expected http, https or smtp"):
        send_alert(details, SimpleNamespace(conn_type="ftp"))


def test_only_a_refusal_fails_without_retries():
    """A refusal (another build, a failed audit) will not mend itself; a lost connection may."""
    from airflow.sdk.exceptions import AirflowFailException

    from ttw.dagkit import _definitive
    from ttw.errors import Refusal

    refused = _definitive(Refusal("marts_build now holds build b2, not build b1"))
    assert isinstance(refused, AirflowFailException)
    assert "holds build b2" in str(refused)
    lost = TTWError("cannot reach the warehouse at 127.0.0.1:5432")
    assert _definitive(lost) is lost


def test_the_notifier_never_raises_on_a_context_it_cannot_read(caplog):
    from ttw.dagkit import FailureNotifier

    FailureNotifier().notify({"exception": RuntimeError("boom")})  # an exception but no task instance
    assert any("TTW FAILED" in record.getMessage() for record in caplog.records)


def test_a_retry_that_finds_nothing_new_still_announces_what_an_earlier_try_loaded():
    """Try 1 committed a batch and died before its asset event; try 2 skips the file (loaded):
    the batches of the earlier try still count, so the event goes out."""
    from airflow.sdk.exceptions import AirflowSkipException

    from ttw.dagkit import ingest_outcome
    from ttw.ingest import IngestReport
    from ttw.load import BatchResult

    again = IngestReport(batches=[BatchResult("contracts_202401.csv", 7, 62, 0, skipped=True)])
    with pytest.raises(AirflowSkipException):
        ingest_outcome({"contracts": again}, "landing/contracts")
    outcome = ingest_outcome({"contracts": again}, "landing/contracts", earlier=1)
    assert outcome["new_batches"] == 1
    assert outcome["errors"] == []
