"""Registry files on parallel connections: a large file as chunks of one batch, many files side
by side. Row numbers stay exact, a batch stays whole (a failing chunk leaves nothing of its
file), and the raw rows are those a load one file after the other gives."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import psycopg
import pytest

from ttw import load
from ttw.extract.registry import COLUMNS
from ttw.ingest import REGISTRY_CONTRACTS, ingest_contracts
from ttw.warehouse import connect

RAW_COLUMNS = ", ".join([*COLUMNS, "_source_file", "_row_number"])


def raw_rows(target) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(
            f"select {RAW_COLUMNS} from raw.registry_contracts order by _source_file, _row_number"
        ).fetchall()


def ledger(target) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(
            "select source_uri, rows_received, rows_loaded, rows_rejected from ops.load_batches order by source_uri"
        ).fetchall()


def write_export(sample: Path, path: Path, rows: int, *, tag: str = "", bad_row: int | None = None) -> Path:
    """An export of ``rows`` records cycled from the sample, each with its own registration no."""
    records = list(csv.reader(sample.open(encoding="utf-8", newline="")))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(records[0])
        for n in range(rows):
            row = list(records[1 + n % (len(records) - 1)])
            row[0] = f"2024370202{tag}{n:06d}"
            writer.writerow(row[:-1] if n + 1 == bad_row else row)
    return path


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few kilobytes, so a test file of a few hundred rows goes as several."""
    monkeypatch.setattr(load, "MIN_CHUNK_BYTES", 4_000)


def expected_rows(path: Path) -> list[tuple]:
    records = list(csv.reader(path.open(encoding="utf-8", newline="")))[1:]
    # an empty field loads as NULL, as COPY reads an unquoted empty CSV field
    return [(*(value or None for value in record), str(path), n) for n, record in enumerate(records, start=1)]


def test_a_file_in_chunks_keeps_every_row_number_and_is_one_batch(clean_target, sample_contracts, small_chunks):
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 900)
    _, ranges = load._ranges(path, 0, 3)
    assert len(ranges) == 3  # three chunks, really

    report = ingest_contracts(clean_target, [path], workers=3)

    assert report.ok, report.errors
    assert raw_rows(clean_target) == expected_rows(path)
    assert ledger(clean_target) == [(str(path), 900, 900, 0)]
    with connect(clean_target) as conn:
        [(content_hash,)] = conn.execute("select content_hash from ops.load_batches").fetchall()
    assert content_hash == load.file_sha256(path)


def test_a_file_in_chunks_gives_the_rows_of_one_stream(clean_target, sample_contracts, small_chunks):
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 700)
    assert ingest_contracts(clean_target, [path], workers=1).ok
    one_stream = raw_rows(clean_target)
    with connect(clean_target) as conn:
        conn.execute("truncate raw.registry_contracts")
        conn.execute("delete from ops.load_batches")
        conn.commit()

    assert ingest_contracts(clean_target, [path], workers=2).ok
    assert raw_rows(clean_target) == one_stream
    assert len(one_stream) == 700


def test_a_failing_chunk_fails_its_whole_file_and_leaves_nothing_of_it(
    clean_target, sample_contracts, small_chunks, monkeypatch
):
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 900)
    real_iter = load._Lines.__iter__

    def failing(self):
        for n, block in enumerate(real_iter(self)):
            if self.first > 1 and n == 0 and threading.current_thread() is not threading.main_thread():
                raise OSError("the disk went away under the second chunk")
            yield block

    monkeypatch.setattr(load._Lines, "__iter__", failing)
    report = ingest_contracts(clean_target, [path], workers=2)

    assert not report.ok
    assert any("the disk went away" in error for error in report.errors)
    assert raw_rows(clean_target) == []
    assert ledger(clean_target) == []
    with connect(clean_target) as conn:
        rejects = conn.execute("select source_file, rule_name from ops.load_rejects").fetchall()
    assert rejects == [(str(path), "file_rejected")]


def test_a_chunk_committed_before_its_batch_failed_is_taken_back(
    clean_target, sample_contracts, small_chunks, monkeypatch
):
    """The last instant of a chunked load: a chunk has committed and the ledger row fails."""
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 900)
    real_commit = load._Chunk.commit

    def commit_then_fail(self):
        real_commit(self)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(load._Chunk, "commit", commit_then_fail)
    report = ingest_contracts(clean_target, [path], workers=2)

    assert not report.ok
    assert any("the warehouse failed during the load" in error for error in report.errors)
    assert raw_rows(clean_target) == []
    assert ledger(clean_target) == []

    monkeypatch.setattr(load._Chunk, "commit", real_commit)
    assert ingest_contracts(clean_target, [path], workers=2).ok  # the rerun loads it, once
    assert raw_rows(clean_target) == expected_rows(path)


def test_rows_without_a_ledger_row_are_swept_unless_a_loader_holds_them(clean_target, sample_contracts):
    """What a loader killed between a chunk's commit and its ledger row's leaves: rows no
    build reads (no ledger row); the next load deletes them, but not those of a live load."""
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 50)
    assert ingest_contracts(clean_target, [path]).ok
    with connect(clean_target, autocommit=True) as conn:
        for orphan in (900001, 900002):
            conn.execute("select set_config('ttw.batch_id', %s, false)", (str(orphan),))
            conn.execute("select set_config('ttw.source_file', 'killed.csv', false)")
            conn.execute(
                "insert into raw.registry_contracts (registration_no, _row_number)"
                " select 'x' || n, n from generate_series(1, 10) as n"
            )
        with connect(clean_target, autocommit=True) as live:
            live.execute("select pg_advisory_lock(hashtext(%s), %s)", (load.BATCH_LOCK, 900002))
            assert load.sweep_unledgered(conn, REGISTRY_CONTRACTS) == 10
            counts = conn.execute(
                "select _batch_id, count(*) from raw.registry_contracts where _batch_id > 900000 group by 1"
            ).fetchall()
            assert counts == [(900002, 10)]
        assert load.sweep_unledgered(conn, REGISTRY_CONTRACTS) == 10  # its loader has gone
    assert raw_rows(clean_target) == expected_rows(path)


def test_files_side_by_side_give_the_raw_rows_of_one_after_the_other(clean_target, sample_contracts, tmp_path):
    paths = [
        write_export(sample_contracts, tmp_path / f"contracts_2024{m:02d}.csv", 300, tag=str(m)) for m in (1, 2, 3)
    ]
    paths.append(write_export(sample_contracts, tmp_path / "contracts_202404.csv", 40, tag="4"))
    assert ingest_contracts(clean_target, paths, workers=1).ok
    one_after_the_other, ledger_one = raw_rows(clean_target), ledger(clean_target)
    with connect(clean_target) as conn:
        conn.execute("truncate raw.registry_contracts")
        conn.execute("delete from ops.load_batches")
        conn.commit()

    report = ingest_contracts(clean_target, paths, workers=2)

    assert report.ok, report.errors
    assert [batch.source for batch in report.batches] == [str(p) for p in paths]
    assert raw_rows(clean_target) == one_after_the_other
    assert ledger(clean_target) == ledger_one
    assert len(one_after_the_other) == 940


def test_a_bad_file_rejects_cleanly_while_the_others_load_side_by_side(clean_target, sample_contracts, tmp_path):
    good = [write_export(sample_contracts, tmp_path / f"contracts_2024{m:02d}.csv", 200, tag=str(m)) for m in (1, 3)]
    missing = tmp_path / "contracts_202402.csv"
    records = list(csv.reader(sample_contracts.open(encoding="utf-8", newline="")))
    with missing.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row[1:] for row in records])  # no registration_no column
    malformed = write_export(sample_contracts, tmp_path / "contracts_202404.csv", 200, tag="4", bad_row=57)

    report = ingest_contracts(clean_target, [*good, missing, malformed], workers=2)

    assert len(report.errors) == 1
    assert str(missing) in report.errors[0]
    assert ledger(clean_target) == sorted(
        [(str(good[0]), 200, 200, 0), (str(good[1]), 200, 200, 0), (str(malformed), 200, 199, 1)]
    )
    with connect(clean_target) as conn:
        rejects = conn.execute(
            "select source_file, rule_name, row_number from ops.load_rejects order by source_file"
        ).fetchall()
        numbers = [
            r[0]
            for r in conn.execute(
                "select _row_number from raw.registry_contracts where _source_file = %s order by 1", (str(malformed),)
            )
        ]
    assert rejects == [(str(missing), "file_rejected", None), (str(malformed), "wrong_field_count", 57)]
    assert numbers == [n for n in range(1, 201) if n != 57]


def test_quoted_line_breaks_in_a_chunked_file_keep_their_records_and_numbers(
    clean_target, sample_contracts, small_chunks
):
    path = write_export(sample_contracts, sample_contracts.with_name("contracts_202403.csv"), 600)
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[450][1] = "海洋传感器\n研发项目（第二期）"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    report = ingest_contracts(clean_target, [path], workers=2)

    assert report.ok, report.errors
    assert raw_rows(clean_target) == expected_rows(path)
    assert raw_rows(clean_target)[449][1] == "海洋传感器\n研发项目（第二期）"
