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


def test_a_doctype_is_refused_in_any_part_and_any_encoding(tmp_path):
    doctype = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "ha">]><x>&a;</x>'
    path = archive(
        tmp_path / "utf16.xlsx", {"xl/workbook.xml": b"<workbook/>", "docProps/app.xml": doctype.encode("utf-16")}
    )
    with pytest.raises(
        TTWError, match=r"utf16\.xlsx: not a readable xlsx workbook \(EntitiesForbidden: part docProps/app\.xml"
    ):
        workbook.check_prologs(path)


def test_a_part_with_no_root_element_in_its_first_64_kib_is_refused(tmp_path):
    comment = b"<?xml version='1.0'?><!--" + b"x" * (workbook.MAX_PROLOG + 10) + b"--><x/>"
    path = archive(tmp_path / "long.xlsx", {"xl/workbook.xml": comment, "xl/media/image1.png": b"\x89PNG not xml"})
    with pytest.raises(TTWError, match=r"part xl/workbook\.xml has no root element in its first 65,536 bytes"):
        workbook.check_prologs(path)


def test_formulas_without_a_saved_value_are_found_with_any_prefix_and_shared(tmp_path):
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = (
        f'<x:worksheet xmlns:x="{main}"><x:sheetData><x:row r="1">'
        '<x:c r="A1"><x:f>1+1</x:f><x:v>2</x:v></x:c>'  # saved: not listed
        '<x:c r="B1"><x:f t="shared" si="0" ref="B1:B2">A1*2</x:f><x:v></x:v></x:c>'
        '</x:row><x:row r="2"><x:c r="B2"><x:f t="shared" si="0"/></x:c>'
        '<x:c r="C2" t="str"><x:f>"a"</x:f><x:v>a</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    path = archive(
        tmp_path / "f.xlsx",
        {
            "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
            '<sheet name="数据" sheetId="1" r:id="rId7"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId7" Target="/xl/worksheets/data.xml" Type="worksheet"/></Relationships>',
            "xl/worksheets/data.xml": sheet,
        },
    )
    book = workbook.Book(path, "xlsx", reader=None)
    grid = workbook.MAX_SHEET_ROWS * workbook.MAX_SHEET_COLUMNS
    assert [m.cell for m in workbook.check_sheet(book, "数据", grid) if m.error is None] == ["B1", "B2"]
    assert workbook.check_sheet(book, "other", grid) == []


SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1"><v>1</v></c></row>{rows}</sheetData></worksheet>'
)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('<row r="2"><c r="XFD2"><v>1</v></c></row>', r"names cell XFD2, a grid of 2 rows by 16,384 columns"),
        ("<row r='3'><c\tr='C3000'><v>1</v></c></row>", r"names cell C3000, a grid of 3,000 rows by 3 columns"),
        (
            '<x:row xmlns:x="m" r="9"><x:c r="ZZ9"/></x:row><row><c r="A10"/></row>',
            r"names cell ZZ9, a grid of 9 rows by 702",
        ),
        ('<row r="2"/><row r="1"/>', r"holds row 1 twice"),
        ("<row/>" * 6000, r"names row 5001, a grid of 5,001 rows by 1 columns"),
        ('<mergeCells><mergeCell ref="B2:B5000"/></mergeCells>', r"names the range B2:B5000"),
    ],
)
def test_the_grid_scan_names_the_first_place_out_of_bounds_whatever_the_chunks(
    tmp_path, monkeypatch, chunk, rows, message
):
    monkeypatch.setattr(workbook, "SCAN_CHUNK", chunk)
    path = archive(tmp_path / "grid.xlsx", {"s.xml": SHEET.format(rows=rows).encode()})
    with zipfile.ZipFile(path) as zf, pytest.raises(TTWError, match=message):
        workbook._scan_bounds(zf, "s.xml", "grid.xlsx: sheet s", 5_000)


def test_the_grid_scan_passes_a_sheet_within_bounds_and_finds_formulas_and_errors(tmp_path):
    rows = '<row r="2"><c r="B2"><f>A1</f></c><c t="e"><v>#N/A</v></c></row>'
    path = archive(tmp_path / "ok.xlsx", {"s.xml": SHEET.format(rows=rows).encode()})
    with zipfile.ZipFile(path) as zf:
        assert workbook._scan_bounds(zf, "s.xml", "ok.xlsx: sheet s", 5_000) is True
        assert workbook._marked_cells(zf, "s.xml") == [
            workbook.MarkedCell("B2", 2, None),
            workbook.MarkedCell("C2", 2, "#N/A"),
        ]
