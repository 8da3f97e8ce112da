"""What an operator does about bad deliveries: retract a batch that loaded but is wrong (the
next build leaves it out, as if it had never loaded, and a corrected re-delivery loads), and
a file rejected whole leaves the landing folder for `_rejected/` with its reason, so the
next daily run no longer fails on it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from ledger import SAMPLE, assert_ledger_balances, load_rejects, raw_count
from test_database import TTW, cli_env
from test_files import HEADER, ROWS, write_csv

from ttw.build import NOTHING_CHANGED, build
from ttw.codes import credit_check_char, is_valid_credit_code
from ttw.ingest import ingest_contracts
from ttw.orchestrate import AIRFLOW_DB, prepare_airflow, run_dag
from ttw.warehouse import connect, reset_layers, table_checksums

REASON = "amounts sent in 万元 where the registry means 元"
AMOUNTS = ("contract_amount", "tech_transaction_amount")


# a seller only the bad export names: its organization must leave dim_organization too
STRAY_CODE = "91370200000000000" + credit_check_char("91370200000000000")


def unit_slip_export(folder: Path) -> Path:
    """The sample's contracts again, every amount 1 yuan (valid, and wrong), the first sold
    by an organization no other delivery names, plus a record with a field missing (a
    loader reject of the batch)."""
    rows = [list(row) for row in ROWS]
    for row in rows:
        for column in AMOUNTS:
            row[HEADER.index(column)] = "1"
    rows[0][HEADER.index("seller_credit_code")] = STRAY_CODE
    rows[0][HEADER.index("seller_name")] = "青岛误录科技有限公司"
    return write_csv(folder / "contracts_sample_slipped.csv", [*rows, rows[0][:-1]])


def ttw(settings, target, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [TTW, *args], env=cli_env(settings, target), capture_output=True, text=True, timeout=600, check=False
    )
    return done.returncode, done.stdout + done.stderr


def count(target, query: str, *args) -> int:
    with connect(target) as conn:
        return conn.execute(query, args).fetchone()[0]


@dataclass
class Retraction:
    good: int  # the sample's batch
    bad: int  # the unit slip's batch, retracted
    bad_file: Path
    before: dict[str, str]  # marts_build checksums when only the good batch was built
    slipped: int  # contracts whose fact row the bad batch wrote
    retracted: str  # what `ttw batches retract` printed
    rebuilt: str  # the output of the `ttw build --changed` after the retraction


@pytest.fixture(scope="module")
def retraction(settings, target, tmp_path_factory) -> Retraction:
    """The sample loaded and built; the unit slip loaded and built on it; the slip retracted
    with the CLI and the warehouse built again with --changed."""
    reset_layers(target)
    [good] = ingest_contracts(target, [SAMPLE]).batches
    build(settings, target)
    before = table_checksums(target, "marts_build")
    bad_file = unit_slip_export(tmp_path_factory.mktemp("slip"))
    [bad] = ingest_contracts(target, [bad_file]).batches
    build(settings, target, changed=True)
    slipped = count(target, "select count(*) from marts_build.fct_tech_contracts where batch_id = %s", bad.batch_id)
    assert count(target, "select count(*) from marts_build.dim_organization where credit_code = %s", STRAY_CODE)
    code, retracted = ttw(settings, target, "batches", "retract", str(bad.batch_id), "--reason", REASON)
    assert code == 0, retracted
    rebuilt = build(settings, target, changed=True)
    return Retraction(good.batch_id, bad.batch_id, bad_file, before, slipped, retracted, rebuilt)


def test_retracted_batch_is_excluded_from_the_build(retraction, target):
    assert is_valid_credit_code(STRAY_CODE)
    assert retraction.slipped > 50  # the slip had replaced the sample's versions in the fact
    assert count(target, "select count(*) from marts_build.dim_organization where credit_code = %s", STRAY_CODE) == 0
    assert f"retracted batch {retraction.bad}" in retraction.retracted
    assert retraction.rebuilt != NOTHING_CHANGED
    for table in ("marts_build.fct_tech_contracts", "staging.base_registry__contract_checks"):
        column = "batch_id" if table.startswith("marts") else "_batch_id"
        assert count(target, f"select count(*) from {table} where {column} = %s", retraction.bad) == 0, table
    assert count(target, "select max(last_batch_id) from marts_build.fct_tech_contracts") == retraction.good
    # every table of marts_build is as it was when the sample alone had been built
    assert table_checksums(target, "marts_build") == retraction.before


def test_the_build_after_a_retraction_rebuilds_what_held_it_and_then_nothing_is_left_to_do(
    retraction, settings, target
):
    assert count(target, "select count(*) from ops.model_batches where batch_id = %s", retraction.bad) == 0
    assert count(target, "select count(*) from ops.build_batches where batch_id = %s", retraction.bad) == 0
    assert build(settings, target, changed=True) == NOTHING_CHANGED


def test_a_retracted_batch_stays_in_raw_marked_with_when_why_and_by_whom(retraction, settings, target):
    assert raw_count(target, "registry_contracts", "_batch_id = %s", (retraction.bad,)) == len(ROWS)
    with connect(target) as conn:
        when, reason, by = conn.execute(
            "select retracted_at, retraction_reason, retracted_by from ops.load_batches where batch_id = %s",
            (retraction.bad,),
        ).fetchone()
    assert when is not None
    assert reason == REASON
    assert "@" in by
    code, shown = ttw(settings, target, "batches", "show", str(retraction.bad))
    assert code == 0, shown
    for text in (str(retraction.bad_file), "registry_contracts", REASON, by, f"rows received   {len(ROWS) + 1}"):
        assert text in shown, text
    code, listed = ttw(settings, target, "batches", "list", "--family", "registry_contracts")
    assert code == 0, listed
    [bad_line] = [line for line in listed.splitlines() if line.lstrip().startswith(f"{retraction.bad} ")]
    assert "retracted" in bad_line
    [good_line] = [line for line in listed.splitlines() if line.lstrip().startswith(f"{retraction.good} ")]
    assert "retracted" not in good_line


@pytest.mark.parametrize("which", ["unknown", "retracted"])
def test_retracting_an_unknown_or_retracted_batch_fails_naming_it(retraction, settings, target, which):
    batch = retraction.bad if which == "retracted" else 987654
    before = count(target, "select count(*) from ops.load_batches where retracted_at is not null")
    code, output = ttw(settings, target, "batches", "retract", str(batch), "--reason", "again")
    assert code == 1, output
    assert "Traceback" not in output
    expected = f"batch {batch} was already retracted" if which == "retracted" else f"no load batch {batch}"
    assert expected in output
    assert count(target, "select count(*) from ops.load_batches where retracted_at is not null") == before


def test_a_file_like_a_retracted_batch_loads_again_as_a_new_batch(retraction, target):
    [again] = ingest_contracts(target, [retraction.bad_file]).batches
    assert not again.skipped
    assert again.batch_id > retraction.bad
    assert (again.rows_loaded, len(again.rejected)) == (len(ROWS), 1)
    [twice] = ingest_contracts(target, [retraction.bad_file]).batches  # and only once
    assert (twice.skipped, twice.batch_id) == (True, again.batch_id)
    assert_ledger_balances(target)


# --- rejected files -------------------------------------------------------------------


def unreadable_export(path: Path) -> Path:
    """An export Python's csv module refuses to read (a header cell too large): rejected whole."""
    path.write_text(",".join(HEADER) + "," + "x" * 200_000 + "\n", encoding="utf-8")
    return path


@pytest.fixture
def landing(settings, clean_target) -> Path:
    """The registry's landing folder under TTW_HOME, empty, holding one good export."""
    folder = settings.landing_dir / "contracts"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy2(SAMPLE, folder / "contracts_202401.csv")
    return folder


def test_a_rejected_file_moves_to_rejected_with_its_reason_and_the_next_ingest_has_nothing_to_do(
    settings, clean_target, landing
):
    bad = unreadable_export(landing / "contracts_202402.csv")
    (landing / "contracts_202402.csv.done").touch()
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(landing))
    assert code == 1, output
    rejected = landing / "_rejected"
    assert f"{bad}: " in output
    assert f"moved to {rejected / bad.name}" in output
    assert not bad.exists()
    assert not (landing / "contracts_202402.csv.done").exists()
    assert sorted(p.name for p in rejected.iterdir()) == [
        "contracts_202402.csv",
        "contracts_202402.csv.done",
        "contracts_202402.csv.reason.txt",
    ]
    reason = (rejected / "contracts_202402.csv.reason.txt").read_text(encoding="utf-8")
    [(name, _, _, rule, message)] = load_rejects(clean_target, "registry_contracts")
    assert (name, rule) == (bad.name, "file_rejected")
    for text in ("rejected at 20", "rule: file_rejected", message, f"delivered as: {bad}"):
        assert text in reason, text

    code, output = ttw(settings, clean_target, "ingest", "contracts", str(landing))  # the next daily run
    assert code == 0, output
    assert "skipped, identical content already loaded" in output
    assert "error" not in output
    assert "_rejected" not in output  # not read, not even listed
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    assert_ledger_balances(clean_target)


def test_a_rejected_file_named_on_the_command_line_or_outside_the_landing_folder_stays(
    settings, clean_target, landing, tmp_path
):
    named = unreadable_export(landing / "contracts_202402.csv")
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(named))
    assert code == 1, output
    assert named.exists()
    assert "moved to" not in output
    elsewhere = unreadable_export(tmp_path / "contracts_202403.csv")
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(tmp_path))
    assert code == 1, output
    assert elsewhere.exists()
    assert not (tmp_path / "_rejected").exists()


def test_a_rejected_file_that_cannot_be_moved_stays_with_a_warning(settings, clean_target, landing):
    bad = unreadable_export(landing / "contracts_202402.csv")
    (landing / "_rejected").write_text("a file where the folder should be\n", encoding="utf-8")
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(landing))
    assert code == 1, output
    assert bad.exists()
    assert f"warning: {bad} could not be moved to {landing / '_rejected'}" in output


def test_a_rejected_report_workbook_moves_out_of_the_reports_folder(settings, clean_target):
    folder = settings.landing_dir / "reports"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    broken = folder / "年度报告_C202100001_2024.xlsx"
    broken.write_bytes(b"not a workbook at all")
    code, output = ttw(settings, clean_target, "ingest", "reports", str(folder))
    assert code == 1, output
    assert not broken.exists()
    moved = folder / "_rejected" / broken.name
    assert moved.exists()
    assert "rule: unreadable_file" in (folder / "_rejected" / f"{broken.name}.reason.txt").read_text(encoding="utf-8")
    code, output = ttw(settings, clean_target, "ingest", "reports", str(folder))
    assert code == 0, output


# --- the DAG --------------------------------------------------------------------------


def test_the_retract_batch_dag_retracts_and_schedules_a_rebuild(settings, clean_target, dag_env):
    prepare_airflow(settings, clean_target)
    [batch] = ingest_contracts(clean_target, [SAMPLE]).batches
    outcome = run_dag(settings, clean_target, "retract_batch", {"batch_id": batch.batch_id, "reason": REASON})
    assert outcome.state == "success", outcome
    with connect(clean_target) as conn:
        reason, by = conn.execute(
            "select retraction_reason, retracted_by from ops.load_batches where batch_id = %s", (batch.batch_id,)
        ).fetchone()
    assert reason == REASON
    assert "retract_batch" in by
    # the raw asset of the batch's family got an event: it schedules build_warehouse
    with connect(replace(clean_target, dbname=AIRFLOW_DB)) as db:
        events = db.execute(
            "select a.uri from asset_event as e join asset as a on a.id = e.asset_id"
            " where e.source_dag_id = 'retract_batch'"
        ).fetchall()
    assert [uri for (uri,) in events] == ["ttw://warehouse/raw/registry_contracts"]


def test_a_retracted_batchs_file_leaves_the_landing_folder_so_the_next_ingest_does_not_load_it_again(
    settings, clean_target, landing
):
    """Its hash no longer blocks it: left in landing/, the next daily run would load it again."""
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(landing))
    assert code == 0, output
    with connect(clean_target) as conn:
        (batch_id,) = conn.execute("select batch_id from ops.load_batches").fetchone()
    code, output = ttw(settings, clean_target, "batches", "retract", str(batch_id), "--reason", "wrong month")
    assert code == 0, output
    rejected = landing / "_rejected"
    assert not (landing / "contracts_202401.csv").exists()
    note = (rejected / "contracts_202401.csv.reason.txt").read_text(encoding="utf-8")
    assert "rule: retracted" in note
    assert f"batch {batch_id} retracted: wrong month" in note
    code, output = ttw(settings, clean_target, "ingest", "contracts", str(landing))  # the next daily run
    assert code == 0, output
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 1
