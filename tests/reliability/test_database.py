"""The warehouse failing under the loaders and between stages, and a loader killed: nothing
partial is committed, the error is one clear line, and a rerun ends where a clean run does."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from expected import amount, latest_contracts
from ledger import SAMPLE, assert_ledger_balances, raw_count

from ttw import warehouse
from ttw.build import build
from ttw.extract.reports import read_report
from ttw.ingest import ensure_raw_tables, ingest_contracts
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, table_checksums

TTW = str(Path(sys.executable).with_name("ttw"))

# a row trigger that makes the server fail on the 30th record of the second file
FAULTS = {
    "connection-dropped-during-copy": "perform pg_terminate_backend(pg_backend_pid())",
    "disk-full": (
        "raise exception using message = 'could not extend file \"base/16384/24576\": No space left on device',"
        " errcode = 'disk_full', hint = 'Check free disk space.'"
    ),
}
EXPECTED = {
    "connection-dropped-during-copy": "terminating connection due to administrator command",
    "disk-full": "No space left on device",
}


def cli_env(settings, target) -> dict[str, str]:
    env = {**os.environ, "TTW_HOME": str(settings.home_dir)}
    if target.embedded:
        env["TTW_WAREHOUSE_PORT"] = str(target.port)
    return env


def registration_nos(target) -> list[tuple[str]]:
    with connect(target) as conn:
        return conn.execute("select registration_no from marts.fct_tech_contracts").fetchall()


def two_exports(folder: Path) -> list[Path]:
    """The sample export, and a corrected re-export of it (every amount 1,000 yuan higher).
    The sample spans 18 months, so neither name carries an export month."""
    folder.mkdir()
    first = folder / "contracts_sample_a.csv"
    shutil.copy2(SAMPLE, first)
    header, *rows = list(csv.reader(SAMPLE.open(encoding="utf-8", newline="")))
    second = folder / "contracts_sample_b.csv"
    with second.open("w", encoding="utf-8", newline="") as handle:
        amounts = [header.index("contract_amount"), header.index("tech_transaction_amount")]
        for row in rows:
            for column in amounts:
                row[column] = str(amount(row[column]) + 1000)
        csv.writer(handle).writerows([header, *rows])
    return [first, second]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_server_failure_mid_copy_commits_nothing_and_a_rerun_completes(clean_target, settings, tmp_path, fault):
    first, second = two_exports(tmp_path / "landing")
    ensure_raw_tables(clean_target)
    with connect(clean_target, autocommit=True) as conn:
        conn.execute(
            f"""
            create function raw.fail_mid_copy() returns trigger language plpgsql as $$
            begin
                if new._source_file like '%%sample_b.csv' and new._row_number = 30 then {FAULTS[fault]}; end if;
                return new;
            end $$;
            create trigger fail_mid_copy before insert on raw.registry_contracts
                for each row execute function raw.fail_mid_copy();
            """
        )
    try:
        result = subprocess.run(
            [TTW, "ingest", "contracts", str(first.parent)],
            env=cli_env(settings, clean_target),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        with connect(clean_target, autocommit=True) as conn:
            conn.execute("drop trigger fail_mid_copy on raw.registry_contracts; drop function raw.fail_mid_copy()")
    assert result.returncode == 1
    assert f"{second}: the warehouse failed during the load" in result.stderr
    assert EXPECTED[fault] in result.stderr
    assert "a batch commits whole or not at all, run the ingest again" in result.stderr
    assert "Traceback" not in result.stderr
    with connect(clean_target) as conn:
        files = conn.execute("select source_uri from ops.load_batches order by batch_id").fetchall()
        kept = conn.execute("select count(*) from ops.load_rejects").fetchone()[0]
    assert files == [(str(first),)]  # the first file's batch stands, nothing of the second
    assert kept == 0  # the file was not at fault: it is not recorded as rejected
    assert_ledger_balances(clean_target)

    again = ingest_contracts(clean_target, [first.parent])
    assert [b.skipped for b in again.batches] == [True, False]
    assert raw_count(clean_target, "registry_contracts") == 2 * (len(SAMPLE.read_text().splitlines()) - 1)
    assert_ledger_balances(clean_target)


def test_a_server_restarted_between_stages_changes_nothing(clean_target, settings, tmp_path):
    if not clean_target.embedded:
        pytest.skip("restarts the embedded warehouse; an external one is not ours to restart")
    exports = two_exports(tmp_path / "landing")
    assert ingest_contracts(clean_target, exports).ok
    warehouse.stop_embedded(settings)
    restarted = warehouse.ensure_warehouse(settings)
    assert "Completed successfully" in build(settings, restarted)
    warehouse.stop_embedded(settings)
    restarted = warehouse.ensure_warehouse(settings)
    audited = audit(settings, restarted)
    assert audited.ok, audited.failed_critical
    publish(settings, restarted)
    first = table_checksums(restarted, "marts")
    with connect(restarted) as conn:
        facts = conn.execute("select count(*) from marts.fct_tech_contracts").fetchone()[0]
        total = conn.execute("select sum(contract_amount) from marts.fct_tech_contracts").fetchone()[0]
    corrected = latest_contracts(*exports)  # the newest export wins
    assert facts == 60  # the sample's valid contracts
    assert total == sum(amount(corrected[n]["contract_amount"]) for (n,) in registration_nos(restarted))

    assert_ledger_balances(restarted)

    # the same inputs built again from scratch (full refresh), without restarts: the same marts
    assert "Completed successfully" in build(settings, restarted, full_refresh=True)
    assert audit(settings, restarted).ok
    publish(settings, restarted)
    assert table_checksums(restarted, "marts") == first


def test_a_report_loader_killed_mid_run_is_completed_by_a_rerun(clean_target, settings, small_dataset, tmp_path):
    workbooks = sorted((small_dataset / "reports").rglob("年度报告_*.xlsx"))
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in workbooks:
        shutil.copy2(path, folder / path.name)
    env = cli_env(settings, clean_target)
    ensure_raw_tables(clean_target)  # so the ledger can be watched from the start
    loader = subprocess.Popen(
        [TTW, "ingest", "reports", str(folder)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and committed < 5 and loader.poll() is None:
        time.sleep(0.05)
        with connect(clean_target) as conn:
            committed = conn.execute(
                "select count(*) from ops.load_batches where source_family = 'center_reports'"
            ).fetchone()[0]
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)
    assert loader.returncode == -signal.SIGKILL
    assert 5 <= committed < len(workbooks)
    assert_ledger_balances(clean_target)  # the batch in flight left nothing

    rerun = subprocess.run(
        [TTW, "ingest", "reports", str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    with connect(clean_target) as conn:
        batches = conn.execute(
            "select count(*), count(distinct content_hash) from ops.load_batches where source_family = 'center_reports'"
        ).fetchone()
    assert batches == (len(workbooks), len(workbooks))
    rows = sum(
        raw_count(clean_target, table)
        for table in ("report_fields", "report_indicators", "report_achievements", "report_plans")
    )
    assert rows == sum(read_report(path).rows for path in workbooks)
    assert_ledger_balances(clean_target)
