"""The archive checks made before an xlsx is parsed, and how a batch names its rejected records."""

from __future__ import annotations

import zipfile

import pytest

from ttw import load
from ttw.errors import TTWError
from ttw.extract import workbook


def archive(path, parts: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_a_workbook_of_too_many_parts_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_PARTS", 5)
    path = archive(tmp_path / "many.xlsx", {f"xl/part{i}.xml": b"<x/>" for i in range(6)})
    with pytest.raises(TTWError, match=r"many\.xlsx: 6 parts in the archive, expected at most 5 in a workbook"):
        workbook.check_archive(path)


def test_a_workbook_that_would_inflate_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_UNCOMPRESSED", 1000)
    path = archive(tmp_path / "big.xlsx", {"xl/a.xml": bytes(range(256)) * 4, "xl/b.xml": bytes(range(256))})
    with pytest.raises(TTWError, match=r"big\.xlsx: would inflate to 1,280 bytes, more than the 1,000"):
        workbook.check_archive(path)


def test_an_ordinary_archive_passes(tmp_path):
    workbook.check_archive(archive(tmp_path / "fine.xlsx", {"xl/workbook.xml": b"<workbook/>" * 100}))


def test_a_batch_names_its_first_rejected_records_and_counts_the_rest():
    rejected = tuple(
        load.RejectedRow(n, f"line {n + 1}", "wrong_field_count", "3 fields, expected 22", []) for n in range(1, 26)
    )
    batch = load.BatchResult("contracts_202401.csv", 7, 25, 0, skipped=False, rejected=rejected)
    assert len(batch.problems) == load.PROBLEMS_SHOWN + 1
    assert batch.problems[0] == "contracts_202401.csv: row 1 (line 2): 3 fields, expected 22"
    assert batch.problems[-1] == "contracts_202401.csv: 5 more rejected records"
    assert "25 rejected (kept in ops.load_rejects)" in batch.summary
