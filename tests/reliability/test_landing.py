"""The landing folder as it really is: CR line endings, records too large, mixed encodings,
links out of the folder, FIFOs, files still being written, names that look like console
markup and files that are no delivery. One bad file never stops the others; nothing that is
not a delivery is read; the ledger balances."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from pathlib import Path

import pytest
from ledger import assert_ledger_balances, load_rejects, raw_count
from test_database import TTW, cli_env
from test_files import HEADER, ROWS, ingest_twice, write_csv

from ttw import load
from ttw.ingest import ensure_raw_tables, ingest_contracts
from ttw.orchestrate import prepare_airflow, run_dag
from ttw.settings import Settings
from ttw.warehouse import connect

SECRET = "db_password=hunter2-test-dummy-not-a-delivery"  # a made-up line a delivery must never echo


def registration_nos(target, name: str) -> list[tuple[int, str]]:
    with connect(target) as conn:
        return conn.execute(
            "select _row_number, registration_no from raw.registry_contracts where _source_file like %s order by 1",
            (f"%/{name}",),
        ).fetchall()


def numbered(rows: list[list[str]], skip: tuple[int, ...] = ()) -> list[tuple[int, str]]:
    return [(n, row[0]) for n, row in enumerate(rows, start=1) if n not in skip]


def csv_text(rows: list[list[str]], terminator: str, header=HEADER) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=terminator).writerows([header, *rows])
    return buffer.getvalue()


def ttw(settings, target, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TTW, *args], env=cli_env(settings, target), capture_output=True, text=True, timeout=timeout)


def test_cr_line_endings_load_and_an_unreadable_file_is_rejected_by_name_while_the_rest_load(clean_target, good_export):
    folder = good_export.parent
    mac = folder / "contracts_202402.csv"
    mac.write_bytes(csv_text(ROWS, "\r").encode("utf-8"))  # classic Mac OS line endings
    unreadable = folder / "contracts_202403.csv"  # a header cell Python's csv module refuses to read
    unreadable.write_text(",".join(HEADER) + "," + "x" * 200_000 + "\n", encoding="utf-8")
    after = write_csv(folder / "contracts_202404.csv", ROWS[:10])

    report = ingest_twice(clean_target, folder)
    assert [(Path(b.source).name, b.rows_received, b.rows_loaded) for b in report.batches] == [
        ("contracts_202401.csv", len(ROWS), len(ROWS)),
        ("contracts_202402.csv", len(ROWS), len(ROWS)),
        ("contracts_202404.csv", 10, 10),
    ]
    assert registration_nos(clean_target, mac.name) == numbered(ROWS)
    assert registration_nos(clean_target, after.name) == numbered(ROWS[:10])
    [error] = report.errors
    assert error.startswith(f"{unreadable}: ")
    assert "x" * 100 not in error
    [(name, number, _, rule, reason)] = load_rejects(clean_target, "registry_contracts")
    assert (name, number, rule, reason) == (unreadable.name, None, "file_rejected", error)
    assert_ledger_balances(clean_target)


def test_a_cr_file_loads_in_the_dag_and_an_unreadable_one_fails_the_run_naming_it(
    settings, clean_target, dag_env, tmp_path, capfd
):
    prepare_airflow(settings, clean_target)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "contracts_202402.csv").write_bytes(csv_text(ROWS, "\r").encode("utf-8"))
    unreadable = landing / "contracts_202403.csv"
    unreadable.write_text(",".join(HEADER) + "," + "x" * 200_000 + "\n", encoding="utf-8")

    outcome = run_dag(settings, clean_target, "ingest_contract_registry", {"landing_dir": str(landing)})
    assert (outcome.state, outcome.failed_tasks) == ("failed", ("fail_on_rejected_files",))  # no retried crash
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    logged = capfd.readouterr()
    summary = [line for line in (logged.out + logged.err).splitlines() if "TTW FAILED" in line]
    assert any("task=fail_on_rejected_files" in line and str(unreadable) in line for line in summary), summary
    assert_ledger_balances(clean_target)


def test_a_record_larger_than_the_limit_is_rejected_as_a_record_and_the_rest_loads(
    clean_target, good_export, monkeypatch
):
    monkeypatch.setattr(load, "MAX_RECORD_CHARS", 1 << 20)  # 64 MiB in production: 1 MiB here
    folder = good_export.parent
    huge = folder / "contracts_202402.csv"
    lines = csv_text(ROWS[:5], "\n").encode("utf-8")
    # one line of 3 MiB, no field separator, no quote; its CR LF falls where it is read in two
    lines += b"A" * (3 << 20) + b"\r\n"
    lines += csv_text(ROWS[5:10], "\n").encode("utf-8").split(b"\n", 1)[1]
    huge.write_bytes(lines)
    tail = folder / "contracts_202403.csv"  # a file that ends in a huge line with no newline
    tail.write_bytes(csv_text(ROWS[:3], "\n").encode("utf-8") + b"B" * (2 << 20))
    one_line = folder / "contracts_202404.csv"  # nothing but one huge line: no header to read
    one_line.write_bytes(b"C" * (3 << 20))

    report = ingest_twice(clean_target, folder)
    assert [(Path(b.source).name, b.rows_received, b.rows_loaded) for b in report.batches] == [
        ("contracts_202401.csv", len(ROWS), len(ROWS)),
        ("contracts_202402.csv", 11, 10),
        ("contracts_202403.csv", 4, 3),
    ]
    row_numbers = (1, 2, 3, 4, 5, 7, 8, 9, 10, 11)  # row 6 is the huge line
    assert registration_nos(clean_target, huge.name) == [(n, r[0]) for n, r in zip(row_numbers, ROWS[:10], strict=True)]
    rejects = load_rejects(clean_target, "registry_contracts")
    assert [(name, number, location, rule) for name, number, location, rule, _ in rejects] == [
        (huge.name, 6, "line 7", "record_too_large"),
        (tail.name, 4, "line 5", "record_too_large"),
        (one_line.name, None, None, "file_rejected"),
    ]
    assert "3,145,728 characters, more than the 1,048,576 a record may hold" in rejects[0][4]
    [error] = report.errors
    assert error.startswith(f"{one_line}: ")
    assert "C" * 100 not in error
    assert not any(isinstance(e, str) and "warehouse failed" in e for e in report.errors)
    with connect(clean_target) as conn:
        kept = conn.execute("select max(length(payload::text)) from ops.load_rejects").fetchone()[0]
    assert kept < 1000  # the record's start is kept, not its megabytes
    assert_ledger_balances(clean_target)


def test_a_content_limit_the_server_hits_rejects_the_file_and_never_stops_the_run(clean_target, good_export):
    folder = good_export.parent
    hit = write_csv(folder / "contracts_202402.csv", ROWS[:40])
    after = write_csv(folder / "contracts_202403.csv", ROWS[:10])
    ensure_raw_tables(clean_target)
    with connect(clean_target, autocommit=True) as conn:  # the server's own refusal: SQLSTATE 54000
        conn.execute(
            """
            create function raw.limit_hit() returns trigger language plpgsql as $$
            begin
                if new._source_file like '%%202402.csv' and new._row_number = 30 then
                    raise exception using message = 'row is too big', errcode = 'program_limit_exceeded';
                end if;
                return new;
            end $$;
            create trigger limit_hit before insert on raw.registry_contracts
                for each row execute function raw.limit_hit();
            """
        )
    try:
        report = ingest_contracts(clean_target, [folder])
    finally:
        with connect(clean_target, autocommit=True) as conn:
            conn.execute("drop trigger limit_hit on raw.registry_contracts; drop function raw.limit_hit()")
    assert [Path(b.source).name for b in report.batches] == ["contracts_202401.csv", after.name]
    [error] = report.errors
    assert error.startswith(f"{hit}: ")
    assert "row is too big" in error
    assert "the warehouse failed" not in error
    assert [(n, rule) for n, _, _, rule, _ in load_rejects(clean_target, "registry_contracts")] == [
        (hit.name, "file_rejected")
    ]
    assert_ledger_balances(clean_target)


@pytest.mark.parametrize("first", ["gb18030", "utf-8"])
def test_mixed_encodings_reject_each_line_not_in_the_files_encoding_from_the_first(clean_target, good_export, first):
    second = "utf-8" if first == "gb18030" else "gb18030"
    path = good_export.parent / "contracts_202402.csv"
    text_first = csv_text(ROWS[:10], "\r\n")
    text_second = csv_text(ROWS[10:20], "\r\n").split("\r\n", 1)[1]
    path.write_bytes(text_first.encode(first) + text_second.encode(second))

    report = ingest_twice(clean_target, good_export.parent)
    _, mixed = report.batches
    assert (mixed.rows_received, mixed.rows_loaded) == (20, 10)
    assert registration_nos(clean_target, path.name) == numbered(ROWS[:10])
    rejects = [r for r in load_rejects(clean_target, "registry_contracts") if r[0] == path.name]
    assert [(n, loc, rule) for _, n, loc, rule, _ in rejects] == [
        (n, f"line {n + 1}", "invalid_encoding") for n in range(11, 21)
    ]
    encoding = "GB18030" if first == "gb18030" else "UTF8"
    assert f"not {encoding} text" in rejects[0][4]
    assert report.problems[0].startswith(f"{path}: row 11 (line 12): ")
    with connect(clean_target) as conn:  # the good lines decoded right: no mojibake
        names = conn.execute(
            "select project_name from raw.registry_contracts where _source_file = %s order by _row_number",
            (str(path),),
        ).fetchall()
    assert [n for (n,) in names] == [row[1] for row in ROWS[:10]]
    assert_ledger_balances(clean_target)


def test_links_out_of_the_landing_folder_are_refused_by_name_and_never_read(clean_target, good_export, tmp_path):
    folder = good_export.parent
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_csv(outside / "contracts_202402.csv", ROWS)
    (outside / "app.env").write_text(f"{SECRET}\n", encoding="utf-8")
    (folder / "contracts_202402.csv").symlink_to(outside / "contracts_202402.csv")
    (folder / "contracts_202403.csv").symlink_to(outside / "app.env")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "sub").mkdir()
    (folder / "sub" / "contracts_202404.csv").symlink_to(good_export)  # inside the folder: taken
    # a delivery whose header is one cell of 10,000 characters: only the start of the cell is echoed
    (folder / "contracts_202405.csv").write_text("x" * 10_000 + "\n1\n", encoding="utf-8")

    report = ingest_contracts(clean_target, [folder])
    assert report.landing.refused == [
        folder / "contracts_202402.csv",
        folder / "contracts_202403.csv",
        folder / "linked",
    ]
    assert f"refused: {folder / 'contracts_202403.csv'} is a link to outside {folder}" in report.errors
    assert [(Path(b.source).name, b.skipped) for b in report.batches] == [
        ("contracts_202401.csv", False),
        ("contracts_202404.csv", True),  # the link inside the folder: the same content, loaded once
    ]
    [header_error] = [e for e in report.errors if "contracts_202405.csv" in e]
    assert "header column 1 'xxxx" in header_error
    assert "x" * 100 not in header_error
    assert "hunter2" not in "\n".join([*report.errors, *report.notes, *report.problems])
    with connect(clean_target) as conn:
        stored = conn.execute(
            "select coalesce(string_agg(source_file || reason || coalesce(payload::text, ''), ''), '')"
            " from ops.load_rejects"
        ).fetchone()[0]
    assert "hunter2" not in stored
    assert "x" * 100 not in stored
    assert "contracts_202403" not in stored
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    assert_ledger_balances(clean_target)


def test_a_fifo_named_like_an_export_is_skipped_by_name_and_never_blocks(clean_target, settings, good_export):
    fifo = good_export.parent / "contracts_202402.csv"
    os.mkfifo(fifo)
    after = write_csv(good_export.parent / "contracts_202403.csv", ROWS[:10])
    result = ttw(settings, clean_target, "ingest", "contracts", str(good_export.parent), timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"skipped: {fifo} is not a regular file (a FIFO)" in result.stdout
    assert f"{after}: batch" in result.stdout
    assert raw_count(clean_target, "registry_contracts") == len(ROWS) + 10
    assert_ledger_balances(clean_target)


def test_a_delivery_still_being_written_waits_until_it_settles_or_has_its_marker(clean_target, settings, good_export):
    folder = good_export.parent
    old = time.time() - 3600
    os.utime(good_export, (old, old))
    fresh = write_csv(folder / "contracts_202402.csv", ROWS[:10])  # just written: still being written?
    marked = write_csv(folder / "contracts_202403.csv", ROWS[10:20])
    (folder / "contracts_202403.csv.done").write_bytes(b"")  # the sender says it is complete

    result = ttw(settings, clean_target, "ingest", "contracts", "--settle", "30", str(folder))
    assert result.returncode == 0, result.stderr
    assert f"waiting: {fresh} (modified " in result.stdout
    assert "taken once unchanged for 30 s, or when contracts_202402.csv.done is beside it)" in result.stdout
    assert "not a delivery" not in result.stdout  # the marker is not listed
    with connect(clean_target) as conn:
        files = conn.execute("select source_uri from ops.load_batches order by source_uri").fetchall()
        kept = conn.execute("select count(*) from ops.load_rejects").fetchone()[0]
    assert files == [(str(good_export),), (str(marked),)]
    assert kept == 0  # waiting is not an error, and nothing is recorded for it

    report = ingest_contracts(clean_target, [folder], settle=30)
    assert report.landing.waiting == [fresh]
    assert report.ok
    os.utime(fresh, (old, old))  # unchanged for an hour now: the next run takes it
    report = ingest_contracts(clean_target, [folder], settle=30)
    assert report.landing.waiting == []
    assert [Path(b.source).name for b in report.batches if not b.skipped] == [fresh.name]
    assert registration_nos(clean_target, fresh.name) == numbered(ROWS[:10])
    assert Settings.model_fields["settle_seconds"].default == 30  # what the DAGs wait (TTW_SETTLE_SECONDS)
    assert_ledger_balances(clean_target)


def test_names_and_header_cells_that_look_like_console_markup_print_exactly(clean_target, settings, tmp_path):
    folder = tmp_path / "x[/bold]y"  # a folder x[ holding bold]y
    folder.mkdir(parents=True)
    good = write_csv(folder / "contracts_[bold]202401.csv", ROWS)
    bad = write_csv(folder / "contracts_[red]202402.csv", ROWS[:3], header=["[/red]", *HEADER[1:]])
    result = ttw(settings, clean_target, "ingest", "contracts", str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "MarkupError" not in result.stderr
    assert f"{good}: batch " in result.stdout
    assert f"error: {bad}: header column 1 '[/red]' is not a contract registry column" in result.stderr
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    assert_ledger_balances(clean_target)


def test_files_that_are_no_delivery_are_listed_by_name_and_never_read(clean_target, settings, good_export):
    folder = good_export.parent
    notes = folder / "notes.txt"
    notes.write_text(f"{SECRET}\n", encoding="utf-8")
    backup = folder / "contracts_202401.csv.bak"
    backup.write_text(f"{SECRET}\n", encoding="utf-8")
    nested = folder / "old" / "README"
    nested.parent.mkdir()
    nested.write_text(f"{SECRET}\n", encoding="utf-8")
    named = folder.parent / "export.txt"  # a file named on the command line, not named like a delivery
    named.write_text(f"{SECRET}\n", encoding="utf-8")

    result = ttw(settings, clean_target, "ingest", "contracts", str(folder), str(named))
    assert result.returncode == 0, result.stderr
    for path in (nested, backup, notes, named):
        assert f"not a delivery: {path}\n" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    report = ingest_contracts(clean_target, [folder])
    assert report.landing.not_deliveries == [nested, backup, notes]
    assert all(batch.skipped for batch in report.batches)
    assert report.ok
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_rejects").fetchone()[0] == 0
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    assert_ledger_balances(clean_target)


def test_a_link_loop_and_a_link_to_a_file_that_is_no_delivery_are_refused_by_name(clean_target, good_export):
    folder = good_export.parent
    (folder / "notes.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    (folder / "contracts_202402.csv").symlink_to(folder / "notes.txt")  # inside, but to no delivery
    (folder / "contracts_202403.csv").symlink_to(folder / "loop_b")  # a loop of links
    (folder / "loop_b").symlink_to(folder / "contracts_202403.csv")

    report = ingest_contracts(clean_target, [folder])
    assert folder / "loop_b" in report.landing.not_deliveries  # named like no delivery: never followed
    assert sorted(report.errors) == [
        f"refused: {folder / 'contracts_202402.csv'} is a link to notes.txt, which is not a delivery",
        f"refused: {folder / 'contracts_202403.csv'} is a link that leads nowhere (a loop of links)",
    ]
    assert [Path(b.source).name for b in report.batches] == [good_export.name]
    assert "hunter2" not in "\n".join([*report.errors, *report.notes, *report.problems])
    assert load_rejects(clean_target, "registry_contracts") == []
    assert_ledger_balances(clean_target)


def test_a_link_swapped_in_after_the_scan_is_never_read(clean_target, good_export, tmp_path):
    folder = good_export.parent
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "app.env"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    swapped = write_csv(folder / "contracts_202402.csv", ROWS[:5])

    def swap_after_looking(path: Path) -> bool:
        """The scan has just looked at the file: now it becomes a link to outside."""
        if path == swapped:
            path.unlink()
            path.symlink_to(secret)
        return True

    report = ingest_contracts(clean_target, [folder], only=swap_after_looking)
    assert report.errors == [f"refused: {swapped} is a link to outside {folder}"]
    assert [Path(b.source).name for b in report.batches] == [good_export.name]
    with connect(clean_target) as conn:
        stored = conn.execute("select count(*) from ops.load_rejects").fetchone()[0]
    assert stored == 0
    assert "hunter2" not in "\n".join([*report.errors, *report.notes, *report.problems])
    assert_ledger_balances(clean_target)


def test_a_missing_report_path_and_a_dangling_link_are_rejected_by_name_and_the_rest_load(
    clean_target, small_dataset, tmp_path
):
    from ttw.ingest import ingest_reports

    folder = tmp_path / "reports"
    folder.mkdir()
    good = next((small_dataset / "reports").rglob("年度报告_*.xlsx"))
    dangling = folder / "年度报告_C000000001_2024.xlsx"
    dangling.symlink_to(folder / "年度报告_C000000009_2024.xlsx")  # to a report that is not there
    missing = tmp_path / "nowhere" / "年度报告_C000000002_2024.xlsx"

    report = ingest_reports(clean_target, [folder, missing, good])
    assert [Path(b.source).name for b in report.batches] == [good.name]
    assert sorted(report.errors) == sorted(
        [
            f"{dangling}: cannot read file: No such file or directory",
            f"{missing}: cannot read file: No such file or directory",
        ]
    )
    assert {name for name, *_ in load_rejects(clean_target, "center_reports")} == {dangling.name, missing.name}
    assert_ledger_balances(clean_target)


def test_a_stray_byte_rejects_its_line_and_a_late_first_gb18030_line_still_decides_the_encoding(
    clean_target, good_export
):
    folder = good_export.parent
    stray = folder / "contracts_202402.csv"
    text = csv_text(ROWS[:10], "\r\n").encode("utf-8")
    lines = text.split(b"\r\n")
    lines[2] = lines[2] + b"\xff\xfe"  # the first line that is not ASCII holds a stray byte as well
    stray.write_bytes(b"\r\n".join(lines))
    ascii_rows = [[f"{9000000000000000 + n}", "project", *ROWS[0][2:]] for n in range(12_000)]
    ascii_rows = [[cell if cell.isascii() else "x" for cell in row] for row in ascii_rows]
    late = folder / "contracts_202403.csv"  # 12,000 ASCII rows (more than the sniffed 1 MiB), then Chinese
    late.write_bytes((csv_text(ascii_rows, "\r\n") + csv_text(ROWS, "\r\n").split("\r\n", 1)[1]).encode("gb18030"))
    assert late.stat().st_size > 1 << 20

    report = ingest_contracts(clean_target, [folder])
    assert report.ok, report.errors
    by_name = {Path(b.source).name: b for b in report.batches}
    assert (by_name[stray.name].rows_received, by_name[stray.name].rows_loaded) == (10, 9)
    assert registration_nos(clean_target, stray.name) == numbered(ROWS[:10], skip=(2,))
    [(name, number, where, rule, _)] = load_rejects(clean_target, "registry_contracts")
    assert (name, number, where, rule) == (stray.name, 2, "line 3", "invalid_encoding")
    assert (by_name[late.name].rows_received, by_name[late.name].rows_loaded) == (12_000 + len(ROWS),) * 2
    with connect(clean_target) as conn:
        names = conn.execute(
            "select project_name from raw.registry_contracts where _source_file = %s and _row_number > 12000"
            " order by _row_number",
            (str(late),),
        ).fetchall()
    assert [n for (n,) in names] == [row[1] for row in ROWS]  # decoded as GB18030, no mojibake
    assert_ledger_balances(clean_target)


def test_blank_lines_and_cr_cr_lf_line_ends_make_no_records(clean_target, good_export):
    folder = good_export.parent
    blank_end = folder / "contracts_202402.csv"
    blank_end.write_bytes(csv_text(ROWS[:10], "\r\n").encode("utf-8") + b"\r\n")  # a blank line at the end
    doubled = folder / "contracts_202403.csv"
    doubled.write_bytes(csv_text(ROWS[:10], "\r\r\n").encode("utf-8"))

    report = ingest_contracts(clean_target, [folder])
    assert report.ok, report.errors
    for path in (blank_end, doubled):
        [batch] = [b for b in report.batches if b.source == str(path)]
        assert (batch.rows_received, batch.rows_loaded, batch.rejected) == (10, 10, ())
        assert registration_nos(clean_target, path.name) == numbered(ROWS[:10])
    assert load_rejects(clean_target, "registry_contracts") == []
    assert_ledger_balances(clean_target)


def test_uppercase_suffixes_future_times_and_emoji_codes_in_names(clean_target, settings, tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    upper = write_csv(folder / "contracts_202401.CSV", ROWS[:5])
    future = write_csv(folder / "contracts_:smile:_202402.csv", ROWS[5:10])
    ahead = time.time() + 3600  # a clock ahead of this one
    os.utime(future, (ahead, ahead))
    result = ttw(settings, clean_target, "ingest", "contracts", str(folder))
    assert result.returncode == 0, result.stderr
    assert f"{upper}: batch " in result.stdout
    assert f"{future}: batch " in result.stdout  # settle 0: taken, and its name printed as it is
    assert raw_count(clean_target, "registry_contracts") == 10
    assert_ledger_balances(clean_target)
