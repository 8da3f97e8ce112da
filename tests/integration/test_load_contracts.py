"""Contract exports into raw.registry_contracts: row accounting, idempotency, encodings, errors."""

from __future__ import annotations

import codecs
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ttw import load
from ttw.extract.registry import COLUMNS, LABELS
from ttw.ingest import ingest_contracts
from ttw.warehouse import connect


def raw_rows(target, order: str = "_batch_id, _row_number") -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(
            f"select registration_no, contract_amount, signed_on, _batch_id, _source_file, _row_number"
            f" from raw.registry_contracts order by {order}"
        ).fetchall()


def csv_records(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))[1:]


def rewrite(source: Path, dest: Path, *, encoding: str, bom: bool = False, chinese: bool = False) -> Path:
    rows = list(csv.reader(source.open(encoding="utf-8", newline="")))
    if chinese:
        rows[0] = list(LABELS)
    with dest.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    if bom:
        dest.write_bytes(codecs.BOM_UTF8 + dest.read_bytes())
    return dest


def test_every_record_lands_once_with_its_load_metadata(clean_target, sample_contracts):
    expected = csv_records(sample_contracts)
    report = ingest_contracts(clean_target, [sample_contracts])
    assert report.ok, report.errors
    [batch] = report.batches
    assert (batch.rows_received, batch.rows_loaded) == (len(expected), len(expected))

    rows = raw_rows(clean_target)
    assert len(expected) == 62
    assert [(r[0], r[1], r[2]) for r in rows] == [(e[0], e[15], e[4]) for e in expected]
    assert {r[3] for r in rows} == {batch.batch_id}
    assert {r[4] for r in rows} == {str(sample_contracts)}
    assert [r[5] for r in rows] == list(range(1, len(expected) + 1))
    with connect(clean_target) as conn:
        ledger = conn.execute("select rows_received, rows_loaded, content_hash from ops.load_batches").fetchall()
    assert len(ledger) == 1
    assert ledger[0][:2] == (len(expected), len(expected))
    assert len(ledger[0][2]) == 64


@pytest.mark.parametrize(
    "name",
    # the same name is hashed before COPY, a new one while it streams (rolled back after)
    ["contracts_202401.csv", "contracts_209912.csv"],
    ids=["same-name", "new-name"],
)
def test_redelivered_identical_file_is_skipped(clean_target, sample_contracts, tmp_path, name):
    first = ingest_contracts(clean_target, [sample_contracts])
    copy = tmp_path / "again" / name
    copy.parent.mkdir()
    copy.write_bytes(sample_contracts.read_bytes())
    second = ingest_contracts(clean_target, [copy])
    assert second.ok, second.errors
    assert second.batches[0].skipped
    assert second.batches[0].batch_id == first.batches[0].batch_id
    assert (second.batches[0].rows_received, second.batches[0].rows_loaded) == (0, 0)
    assert len(raw_rows(clean_target)) == first.rows_loaded
    assert {r[4] for r in raw_rows(clean_target)} == {str(sample_contracts)}
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 1


def test_a_new_file_is_recorded_with_the_hash_of_its_whole_content(clean_target, sample_contracts, tmp_path):
    changed = tmp_path / "contracts_209911.csv"
    changed.write_bytes(b"".join(sample_contracts.read_bytes().splitlines(keepends=True)[:-1]))  # one record less
    for path in (sample_contracts, changed):
        assert ingest_contracts(clean_target, [path]).ok
    with connect(clean_target) as conn:
        ledger = conn.execute("select content_hash, rows_loaded from ops.load_batches order by batch_id").fetchall()
    rows = len(csv_records(sample_contracts))
    assert ledger == [(load.file_sha256(sample_contracts), rows), (load.file_sha256(changed), rows - 1)]


@pytest.mark.parametrize(
    ("encoding", "bom", "chinese"),
    [("gb18030", False, True), ("utf-8", True, True), ("utf-8", True, False)],
    ids=["gb18030-chinese-labels", "utf8-bom-chinese-labels", "utf8-bom-english"],
)
def test_encodings_and_header_styles_load_the_same_values(
    clean_target, sample_contracts, tmp_path, encoding, bom, chinese
):
    variant = rewrite(sample_contracts, tmp_path / "contracts_202402.csv", encoding=encoding, bom=bom, chinese=chinese)
    report = ingest_contracts(clean_target, [variant])
    assert report.ok, report.errors
    with connect(clean_target) as conn:
        loaded = conn.execute(
            "select registration_no, project_name, seller_name, tech_field from raw.registry_contracts"
            " order by _row_number"
        ).fetchall()
    expected = [(r[0], r[1], r[6], r[17]) for r in csv_records(sample_contracts)]
    assert loaded == expected


def test_file_missing_a_required_column_is_rejected_whole_and_others_still_load(
    clean_target, sample_contracts, tmp_path
):
    rows = list(csv.reader(sample_contracts.open(encoding="utf-8", newline="")))
    drop = rows[0].index("contract_amount")
    bad = tmp_path / "contracts_202403.csv"
    with bad.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([r[:drop] + r[drop + 1 :] for r in rows])
    report = ingest_contracts(clean_target, [bad, sample_contracts])
    assert [b.source for b in report.batches] == [str(sample_contracts)]
    assert len(report.errors) == 1
    assert "contracts_202403.csv" in report.errors[0]
    assert "'contract_amount'" in report.errors[0]
    assert len(raw_rows(clean_target)) == len(rows) - 1


def test_a_malformed_record_is_kept_with_its_line_and_the_others_load(clean_target, sample_contracts, tmp_path):
    lines = sample_contracts.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5] + ",an extra field"
    bad = tmp_path / "contracts_202404.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_contracts(clean_target, [bad])
    assert report.ok
    [batch] = report.batches
    assert (batch.rows_received, batch.rows_loaded) == (len(lines) - 1, len(lines) - 2)
    assert report.problems == [f"{bad}: row 5 (line 6): 23 fields, expected 22 ({', '.join(COLUMNS)})"]
    with connect(clean_target) as conn:
        numbers = [r[0] for r in conn.execute("select _row_number from raw.registry_contracts order by 1")]
        kept = conn.execute("select row_number, rule_name, payload->'fields'->>22 from ops.load_rejects").fetchall()
    assert numbers == [n for n in range(1, len(lines)) if n != 5]
    assert kept == [(5, "wrong_field_count", "an extra field")]


def test_a_load_killed_during_copy_leaves_nothing_and_a_rerun_loads_everything_once(
    clean_target, sample_contracts, tmp_path
):
    rows = list(csv.reader(sample_contracts.open(encoding="utf-8", newline="")))
    big = tmp_path / "contracts_202406.csv"
    with big.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        for n in range(400_000):  # large enough that COPY is still running when killed
            row = list(rows[1 + n % (len(rows) - 1)])
            row[0] = f"2024370202{n:06d}"
            writer.writerow(row)
    ttw = str(Path(sys.executable).with_name("ttw"))
    env = {**os.environ, "TTW_WAREHOUSE_URL": clean_target.url, "TTW_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [ttw, "ingest", "contracts", str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    copying = False
    for _ in range(400):
        with connect(clean_target) as conn:
            copying = bool(
                conn.execute("select 1 from pg_stat_activity where query ilike 'copy %registry_contracts%'").fetchone()
            )
        if copying:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert copying, "the load was killed while its COPY ran"
    for _ in range(100):  # the server notices the lost client and rolls the batch back
        with connect(clean_target) as conn:
            busy = conn.execute(
                "select 1 from pg_stat_activity where query ilike 'copy %registry_contracts%'"
            ).fetchone()
        if not busy:
            break
        time.sleep(0.05)
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from raw.registry_contracts").fetchone()[0] == 0
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 0

    report = ingest_contracts(clean_target, [big])
    assert report.ok
    with connect(clean_target) as conn:
        loaded, distinct = conn.execute(
            "select count(*), count(distinct registration_no) from raw.registry_contracts"
        ).fetchone()
        batches = conn.execute("select rows_received, rows_loaded from ops.load_batches").fetchall()
    assert loaded == distinct == 400_000
    assert batches == [(400_000, 400_000)]


def test_quoted_line_breaks_are_one_record_each(clean_target, sample_contracts, tmp_path):
    rows = list(csv.reader(sample_contracts.open(encoding="utf-8", newline="")))
    rows[1][1] = "海洋传感器\n研发项目（第一期）"  # a project name over two lines
    rows[2][1] = 'with "quotes", commas\nand a break'
    path = tmp_path / "contracts_202402.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    report = ingest_contracts(clean_target, [path])
    assert report.ok, report.errors
    assert report.batches[0].rows_received == report.batches[0].rows_loaded == len(rows) - 1
    with connect(clean_target) as conn:
        names = [
            r[0] for r in conn.execute("select project_name from raw.registry_contracts order by _row_number limit 2")
        ]
    assert names == [rows[1][1], rows[2][1]]
