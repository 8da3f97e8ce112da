"""Workbook deliveries read as a person reads them: every cell the sheets hold, whatever
they declare; .xls and .ods as well as .xlsx; the visible sheet, never a hidden one;
formulas never saved, merged cells, runaway sheets and a report whose cells contradict its
file name, each rejected with its cell or reason and kept in ops.load_rejects."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import xlwt
from ledger import SAMPLE, assert_ledger_balances, load_rejects, raw_count
from openpyxl import Workbook

from ttw.extract import workbook as workbook_module
from ttw.extract.reports import UNSAVED
from ttw.ingest import ingest_contracts, ingest_reports
from ttw.warehouse import connect
from ttw_dev.generate.centers import INDICATORS

HEADER, *ROWS = list(csv.reader(SAMPLE.open(encoding="utf-8", newline="")))
HUNDRED = [ROWS[n % len(ROWS)] for n in range(100)]


# --- building deliveries ------------------------------------------------------------


def xlsx(path: Path, sheets: dict[str, list[list]], *, hidden=(), merges: dict[str, list[str]] | None = None) -> Path:
    """An xlsx written by openpyxl: each sheet's rows from A1; ``hidden`` sheets hidden."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for merged in (merges or {}).get(title, []):
            sheet.merge_cells(merged)
        if title in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def rewrite_part(path: Path, part: str, change) -> Path:
    """Rewrite one XML part of a zip-based workbook in place with ``change(bytes) -> bytes``."""
    original = path.read_bytes()
    staged = path.with_suffix(".staged")
    staged.write_bytes(original)
    with zipfile.ZipFile(staged) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dest:
        for item in source.infolist():
            data = source.read(item.filename)
            dest.writestr(item, change(data) if item.filename == part else data)
    staged.unlink()
    return path


def declare_dimension(path: Path, part: str, ref: str) -> Path:
    """Make a sheet declare the range ``ref`` in its ``<dimension>``, whatever it holds."""

    def change(data: bytes) -> bytes:
        changed, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), data)
        assert count == 1
        return changed

    return rewrite_part(path, part, change)


def xls(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A real BIFF8 .xls (Excel 97-2003), as xlwt writes it."""
    book = xlwt.Workbook(encoding="utf-8")
    for title, rows in sheets.items():
        sheet = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def ods(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A minimal OpenDocument spreadsheet (.ods, as WPS and LibreOffice save), written by hand."""

    def cell(value) -> str:
        if isinstance(value, int | float):
            kind, text = f'office:value-type="float" office:value="{value}"', str(value)
        else:
            kind, text = 'office:value-type="string"', escape(str(value))
        return f"<table:table-cell {kind}><text:p>{text}</text:p></table:table-cell>"

    tables = "".join(
        f'<table:table table:name="{title}">'
        + "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for title, rows in sheets.items()
    )
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {ns} manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def report_sheets(center: str, year: int, *, info_center: str | None = None, info_year: object = None) -> dict:
    """A complete annual report's sheets: identity, 17 indicators, achievements, plans."""
    return {
        "基本信息": [
            [f"技术创新中心年度报告（{year}年度）"],
            ["中心编号", info_center or center],
            ["中心名称", "青岛测试技术创新中心"],
            ["报告年度", info_year or year],
        ],
        "运行数据": [
            ["指标", "单位", "本年数值"],
            *([name, unit, 10 + n] for n, (name, unit) in enumerate(INDICATORS.items())),
        ],
        "重大成果": [["成果名称", "成果类型", "完成时间", "简要说明"], ["成果一", "专利", f"{year}-06", "已转化"]],
        "问题与计划": [["存在问题"], ["人才不足"]],
    }


def folder_of(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def rejected_files(target, family: str) -> list[tuple[str, str]]:
    """(file name, rule) of what ops.load_rejects kept of a family."""
    return [(name, rule) for name, _, _, rule, _ in load_rejects(target, family)]


def indicators_of(target, path: Path) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(
            "select indicator, unit, value, cell from raw.report_indicators"
            " where _source_file = %s order by _row_number",
            (str(path),),
        ).fetchall()


def fields_of(target, path: Path) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(
            "select label, value, cell from raw.report_fields where _source_file = %s order by _row_number",
            (str(path),),
        ).fetchall()


# --- 1. stale dimensions --------------------------------------------------------------


def test_a_stale_dimension_does_not_truncate_a_registry_workbook(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    short = xlsx(folder / "contracts_202401.xlsx", {"合同登记": [HEADER, *HUNDRED]})
    declare_dimension(short, "xl/worksheets/sheet1.xml", "A1:V11")
    narrow = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *reversed(HUNDRED)]})
    declare_dimension(narrow, "xl/worksheets/sheet1.xml", "A1:T101")

    report = ingest_contracts(clean_target, [folder])
    assert report.ok, report.errors
    assert [(Path(b.source).name, b.rows_received, b.rows_loaded) for b in report.batches] == [
        (short.name, 100, 100),
        (narrow.name, 100, 100),
    ]
    with_contacts = "_source_file = %s and contact_name is not null and contact_phone is not null"
    assert raw_count(clean_target, "registry_contracts", with_contacts, (str(narrow),)) == 100
    with connect(clean_target) as conn:
        last = conn.execute(
            "select _row_number, registration_no, contact_phone from raw.registry_contracts"
            " where _source_file = %s order by _row_number desc limit 1",
            (str(short),),
        ).fetchone()
    assert last == (100, HUNDRED[-1][0], HUNDRED[-1][-1])
    assert_ledger_balances(clean_target)


def test_a_stale_dimension_does_not_truncate_a_report(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    path = xlsx(folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    declare_dimension(path, "xl/worksheets/sheet2.xml", "A1:C2")  # 运行数据 says: 2 rows

    report = ingest_reports(clean_target, [folder])
    assert report.ok, report.errors
    kept = indicators_of(clean_target, path)
    assert [name for name, *_ in kept] == list(INDICATORS)
    assert kept[-1] == ("任务完成率", "%", "26", "运行数据!C18")
    assert_ledger_balances(clean_target)


# --- 2. the parser, behind the archive checks ----------------------------------------


def test_a_doctype_in_any_part_of_a_workbook_is_refused_before_it_is_parsed(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    shutil.copy2(SAMPLE, folder / "contracts_202401.csv")
    doctype = b'<!DOCTYPE workbook [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    book = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *ROWS]})
    rewrite_part(book, "xl/workbook.xml", lambda data: data.replace(b"<workbook", doctype + b"<workbook", 1))
    sheet = ods(folder / "contracts_202403.ods", {"合同登记": [HEADER, *ROWS]})
    rewrite_part(sheet, "content.xml", lambda data: data.replace(b"?>", b"?>" + doctype, 1))

    report = ingest_contracts(clean_target, [folder])
    assert [Path(b.source).name for b in report.batches] == ["contracts_202401.csv"]
    assert report.errors == [
        f"{book}: not a readable xlsx workbook (EntitiesForbidden: part xl/workbook.xml declares a DOCTYPE;"
        " no DTD or entity of a workbook is ever read)",
        f"{sheet}: not a readable ods workbook (EntitiesForbidden: part content.xml declares a DOCTYPE;"
        " no DTD or entity of a workbook is ever read)",
    ]
    assert rejected_files(clean_target, "registry_contracts") == [
        (book.name, "file_rejected"),
        (sheet.name, "file_rejected"),
    ]
    assert_ledger_balances(clean_target)


# --- 3. .xls, .ods (read), .xlsb (rejected by name) -----------------------------------


def test_xls_and_ods_registry_exports_load_and_an_xlsb_is_rejected_by_name(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    old = xls(folder / "contracts_202401.xls", {"合同登记": [HEADER, *ROWS]})
    wps = ods(folder / "contracts_202402.ods", {"合同登记": [HEADER, *ROWS]})
    binary = folder / "contracts_202403.xlsb"
    binary.write_bytes(b"PK\x03\x04 an Excel binary workbook")

    report = ingest_contracts(clean_target, [folder])
    assert [(Path(b.source).name, b.rows_loaded) for b in report.batches] == [(old.name, 62), (wps.name, 62)]
    assert report.errors == [
        f"{binary}: .xlsb (Excel binary workbook) is not accepted:"
        " save it as .xlsx (or export CSV) and deliver it again"
    ]
    assert rejected_files(clean_target, "registry_contracts") == [(binary.name, "file_rejected")]
    with connect(clean_target) as conn:
        loaded = conn.execute(
            "select _source_file, _row_number, registration_no, signed_on, contract_amount, contact_phone"
            " from raw.registry_contracts where _row_number = 1 order by 1"
        ).fetchall()
    expected = (1, ROWS[0][0], ROWS[0][4], ROWS[0][15], ROWS[0][21])
    assert [row[1:] for row in loaded] == [expected, expected]
    assert_ledger_balances(clean_target)


def test_xls_and_ods_report_workbooks_load_and_an_oversized_xls_is_refused(clean_target, tmp_path, monkeypatch):
    folder = folder_of(tmp_path, "reports")
    old = xls(folder / "年度报告_QD001_2024.xls", report_sheets("QD001", 2024))
    wps = ods(folder / "年度报告_QD002_2024.ods", report_sheets("QD002", 2024))
    big = xls(folder / "年度报告_QD003_2024.xls", report_sheets("QD003", 2024))
    big.write_bytes(big.read_bytes() + b"\0" * 100_000)
    monkeypatch.setattr(workbook_module, "MAX_XLS_BYTES", 50_000)

    report = ingest_reports(clean_target, [folder])
    assert sorted(Path(b.source).name for b in report.batches) == [old.name, wps.name]
    for path in (old, wps):
        kept = indicators_of(clean_target, path)
        assert len(kept) == len(INDICATORS)
        assert kept[0] == ("研发经费投入", "万元", "10", "运行数据!C2")
        assert ("中心编号", path.stem.split("_")[1], "基本信息!B2") in fields_of(clean_target, path)
    assert report.errors == [f"{big}: {big.stat().st_size:,} bytes, more than the 50,000 an .xls workbook may have"]
    assert rejected_files(clean_target, "center_reports") == [(big.name, "unreadable_file")]
    assert_ledger_balances(clean_target)


# --- 4. hidden sheets -------------------------------------------------------------------


def test_a_hidden_sheet_never_wins_over_the_visible_export(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    stale = [[*row[:15], "1", "1", *row[17:]] for row in ROWS[:5]]
    path = xlsx(
        folder / "contracts_202401.xlsx",
        {"旧版": [HEADER, *stale], "说明": [["本表由登记系统导出"]], "合同登记": [HEADER, *ROWS]},
        hidden=("旧版",),
    )
    report = ingest_contracts(clean_target, [folder])
    assert report.ok, report.errors
    assert [(b.rows_received, b.rows_loaded) for b in report.batches] == [(62, 62)]
    assert raw_count(clean_target, "registry_contracts", "contract_amount = '1'") == 0
    assert raw_count(clean_target, "registry_contracts", "_source_file = %s", (str(path),)) == 62
    assert_ledger_balances(clean_target)


def test_a_workbook_with_no_matching_visible_sheet_is_rejected_naming_its_sheets(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    path = xlsx(
        folder / "contracts_202401.xlsx",
        {"说明": [["本表由登记系统导出"]], "合同登记": [HEADER, *ROWS]},
        hidden=("合同登记",),
    )
    report = ingest_contracts(clean_target, [folder])
    assert report.batches == []
    [error] = report.errors
    assert error.startswith(
        f"{path}: no visible sheet holds a contract registry header (the workbook's sheets: 说明, 合同登记 (hidden))"
    )
    assert "sheet 说明: header column 1 '本表由登记系统导出' is not a contract registry column" in error
    [(name, number, _, rule, reason)] = load_rejects(clean_target, "registry_contracts")
    assert (name, number, rule, reason) == (path.name, None, "file_rejected", error)
    assert raw_count(clean_target, "registry_contracts") == 0
    assert_ledger_balances(clean_target)


# --- 5. formulas never saved ---------------------------------------------------------


def test_a_formula_with_no_saved_value_is_named_by_cell_not_read_as_empty(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    shutil.copy2(SAMPLE, folder / "contracts_202401.csv")
    rows = [list(row) for row in ROWS]
    rows[10][5] = "=E12+1"  # registered_on in F12, as a formula openpyxl writes without a value
    export = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *rows]})
    reports_folder = folder_of(tmp_path, "reports")
    sheets = report_sheets("QD001", 2024)
    sheets["运行数据"][4][2] = "=C2+C3"
    report_path = xlsx(reports_folder / "年度报告_QD001_2024.xlsx", sheets)

    contracts = ingest_contracts(clean_target, [folder])
    assert [Path(b.source).name for b in contracts.batches] == ["contracts_202401.csv"]
    assert contracts.errors == [
        f"{export}: cell 合同登记!F12 holds a formula with no saved value: open and save it in Excel or WPS"
        " (1 such cell; the file is rejected whole)"
    ]
    reports = ingest_reports(clean_target, [reports_folder])
    assert reports.ok, reports.errors
    kept = indicators_of(clean_target, report_path)
    assert len(kept) == len(INDICATORS) - 1
    assert "运行数据!C5" not in [cell for *_, cell in kept]
    assert load_rejects(clean_target, "center_reports") == [
        (
            report_path.name,
            5,
            "运行数据!C5",
            "formula_without_value",
            "cell 运行数据!C5 holds a formula with no saved value: open and save it in Excel or WPS",
        )
    ]
    assert_ledger_balances(clean_target)


# --- 6. merged cells --------------------------------------------------------------------


def test_merged_cells_in_a_report_read_as_a_person_reads_them(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    sheets = report_sheets("QD001", 2024)
    sheets["基本信息"] = [
        ["技术创新中心年度报告（2024年度）"],
        ["中心编号", None, "QD001"],  # the label merged over A:B, its value in C
        ["报告年度", None, 2024],
    ]
    names = list(INDICATORS)
    sheets["运行数据"] = [
        ["指标", "单位", "本年数值"],
        [names[0], "万元", 100],  # the indicator merged over rows 2:3, its value too
        [None, None, None],
        [names[1], "项", 5],  # one unit merged over rows 4:5
        [names[2], None, 6],
        [None, None, 7],  # a value with no label
    ]
    merges = {"基本信息": ["A1:C1", "A2:B2", "A3:B3"], "运行数据": ["A2:A3", "C2:C3", "B4:B5"]}
    path = xlsx(folder / "年度报告_QD001_2024.xlsx", sheets, merges=merges)

    report = ingest_reports(clean_target, [folder])
    assert report.ok, report.errors
    assert fields_of(clean_target, path) == [("中心编号", "QD001", "基本信息!C2"), ("报告年度", "2024", "基本信息!C3")]
    assert indicators_of(clean_target, path) == [
        (names[0], "万元", "100", "运行数据!C2"),
        (names[1], "项", "5", "运行数据!C4"),
        (names[2], "项", "6", "运行数据!C5"),
    ]
    assert load_rejects(clean_target, "center_reports") == [
        (path.name, 6, "运行数据!C6", "unlabelled_value", "cell 运行数据!C6 holds 7 but its row has no 指标 label")
    ]
    # the rejected value is a row the file held: received = loaded + rejected
    assert [(b.rows_received - b.rows_loaded, len(b.rejected)) for b in report.batches] == [(1, 1)]
    assert_ledger_balances(clean_target)


# --- 7. runaway report sheets -----------------------------------------------------------


def test_a_report_sheet_with_more_rows_than_any_report_has_is_refused(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    good = xlsx(folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    junk = xlsx(folder / "年度报告_QD002_2024.xlsx", report_sheets("QD002", 2024))
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>指标{r}</t></is></c><c r="C{r}"><v>{r}</v></c></row>'
        for r in range(19, 19 + 2_100)
    ).encode()
    rewrite_part(junk, "xl/worksheets/sheet2.xml", lambda data: data.replace(b"</sheetData>", rows + b"</sheetData>"))

    report = ingest_reports(clean_target, [folder])
    assert [Path(b.source).name for b in report.batches] == [good.name]
    assert report.errors == [
        f"{junk}: sheet 运行数据 holds more than the 2,000 rows a report sheet may hold: not an annual report"
    ]
    assert rejected_files(clean_target, "center_reports") == [(junk.name, "too_many_rows")]
    assert raw_count(clean_target, "report_indicators", "_source_file = %s", (str(junk),)) == 0
    assert_ledger_balances(clean_target)


# --- 8. report identity -----------------------------------------------------------------


def test_a_report_whose_cells_disagree_with_its_file_name_loads_nothing(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    good = xlsx(folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    stale_year = xlsx(folder / "年度报告_QD001_2025.xlsx", report_sheets("QD001", 2025, info_year="2024年"))
    copied = xlsx(folder / "年度报告_QD002_2024.xlsx", report_sheets("QD002", 2024, info_center="QD001"))
    unnamed = xlsx(folder / "年度报告_QD003.xlsx", report_sheets("QD003", 2024))

    report = ingest_reports(clean_target, [folder])
    assert [Path(b.source).name for b in report.batches] == [good.name]
    assert report.errors == [
        f"{stale_year}: cell 基本信息!B4 says 报告年度 '2024年', the file name says 2025:"
        " a report whose cells disagree with its name is not loaded",
        f"{copied}: cell 基本信息!B2 says 中心编号 'QD001', the file name says QD002:"
        " a report whose cells disagree with its name is not loaded",
        f"{unnamed}: a report's file name says its center and year (年度报告_{{中心编号}}_{{报告年度}},"
        " such as 年度报告_C202400001_2024.xlsx)",
    ]
    assert rejected_files(clean_target, "center_reports") == [
        (stale_year.name, "report_identity_mismatch"),
        (copied.name, "report_identity_mismatch"),
        (unnamed.name, "misnamed_report"),
    ]
    for path in (stale_year, copied, unnamed):
        for table in ("report_fields", "report_indicators", "report_achievements", "report_plans"):
            assert raw_count(clean_target, table, "_source_file = %s", (str(path),)) == 0
    assert raw_count(clean_target, "report_indicators") == len(INDICATORS)
    assert_ledger_balances(clean_target)


# --- 9. sheets naming cells past any grid a delivery may hold ---------------------------


def add_rows(xml: bytes) -> Callable[[bytes], bytes]:
    """A part change appending rows (raw XML) at the end of a sheet's data."""
    return lambda data: data.replace(b"</sheetData>", xml + b"</sheetData>")


def test_a_sheet_naming_a_cell_past_its_grid_limit_is_refused_before_calamine_reads_it(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    shutil.copy2(SAMPLE, folder / "contracts_202401.csv")
    corner = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *HUNDRED]})
    rewrite_part(corner, "xl/worksheets/sheet1.xml", add_rows(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    twice = xlsx(folder / "contracts_202403.xlsx", {"合同登记": [HEADER, *HUNDRED]})
    rewrite_part(
        twice,
        "xl/worksheets/sheet1.xml",
        lambda data: data.replace(
            b'<row r="4">', b'<row r="3"><c r="A3" t="inlineStr"><is><t>X</t></is></c></row><row r="4">'
        ),
    )
    reports_folder = folder_of(tmp_path, "reports")
    good = xlsx(reports_folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    far = xlsx(reports_folder / "年度报告_QD002_2024.xlsx", report_sheets("QD002", 2024))
    rewrite_part(
        far, "xl/worksheets/sheet2.xml", add_rows(b'<row r="99999999999"><c r="A99999999999"><v>1</v></c></row>')
    )
    merged = xlsx(reports_folder / "年度报告_QD003_2024.xlsx", report_sheets("QD003", 2024))
    merges = "".join(f'<mergeCell ref="{c}2:{c}1048576"/>' for c in "DEFGHIJKLMNOPQRSTUVWXYZ")
    rewrite_part(
        merged,
        "xl/worksheets/sheet2.xml",
        lambda data: data.replace(
            b"</sheetData>", f'</sheetData><mergeCells count="23">{merges}</mergeCells>'.encode()
        ),
    )

    contracts = ingest_contracts(clean_target, [folder])
    assert [Path(b.source).name for b in contracts.batches] == ["contracts_202401.csv"]
    assert contracts.errors == [
        f"{corner}: sheet 合同登记 names cell XFD1048576, a grid of 1,048,576 rows by 16,384 columns: more than the"
        " 50,000,000 cells a sheet may span",
        f"{twice}: sheet 合同登记 holds row 3 twice (a row would be lost): the file is not read",
    ]
    assert rejected_files(clean_target, "registry_contracts") == [
        (corner.name, "too_many_cells"),
        (twice.name, "duplicate_row"),
    ]
    reports = ingest_reports(clean_target, [reports_folder])
    assert [Path(b.source).name for b in reports.batches] == [good.name]
    assert reports.errors == [
        f"{far}: sheet 运行数据 names row 99999999999, past row 1,048,576, the last row a sheet has",
        f"{merged}: sheet 运行数据 names the range D2:D1048576, a grid of 1,048,576 rows by 4 columns: more than the"
        " 1,000,000 cells a sheet may span",
    ]
    assert rejected_files(clean_target, "center_reports") == [
        (far.name, "too_many_cells"),
        (merged.name, "too_many_cells"),
    ]
    assert_ledger_balances(clean_target)


def test_a_report_sheet_holding_more_values_than_any_report_has_is_refused(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    good = xlsx(folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    sheets = report_sheets("QD002", 2024)
    sheets["问题与计划"] = [[f"计划{r}_{c}" for c in range(300)] for r in range(1_999)]
    wide = xlsx(folder / "年度报告_QD002_2024.xlsx", sheets)

    report = ingest_reports(clean_target, [folder])
    assert [Path(b.source).name for b in report.batches] == [good.name]
    assert report.errors == [
        f"{wide}: sheet 问题与计划 holds more than the 20,000 values a report sheet may hold: not an annual report"
    ]
    assert rejected_files(clean_target, "center_reports") == [(wide.name, "too_many_cells")]
    assert_ledger_balances(clean_target)


# --- 10. NUL characters -----------------------------------------------------------------


def test_a_nul_in_a_cell_rejects_that_value_or_record_and_the_rest_loads(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    export = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *HUNDRED]})
    number = HUNDRED[4][0]
    rewrite_part(
        export,
        "xl/worksheets/sheet1.xml",
        lambda data: data.replace(f"<t>{number}</t>".encode(), f"<t>{number}_x0000_</t>".encode(), 1),
    )
    reports_folder = folder_of(tmp_path, "reports")
    path = xlsx(reports_folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    later = xlsx(reports_folder / "年度报告_QD002_2024.xlsx", report_sheets("QD002", 2024))
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda data: data.replace("<t>青岛测试技术创新中心</t>".encode(), "<t>青岛_x0000_测试</t>".encode()),
    )

    contracts = ingest_contracts(clean_target, [folder])
    assert contracts.errors == []
    assert raw_count(clean_target, "registry_contracts") == 99
    assert load_rejects(clean_target, "registry_contracts") == [
        (
            export.name,
            5,
            "合同登记!A6",
            "nul_byte",
            "cell 合同登记!A6 holds a NUL character (\\x00), which no text may hold",
        )
    ]
    reports = ingest_reports(clean_target, [reports_folder])
    assert reports.ok, reports.errors
    assert [Path(b.source).name for b in reports.batches] == [path.name, later.name]
    assert ("中心名称", "青岛测试技术创新中心", "基本信息!B3") not in fields_of(clean_target, path)
    assert len(fields_of(clean_target, path)) == 2
    assert load_rejects(clean_target, "center_reports") == [
        (
            path.name,
            3,
            "基本信息!B3",
            "nul_byte",
            "cell 基本信息!B3 holds a NUL character (\\x00), which no text may hold",
        )
    ]
    assert len(indicators_of(clean_target, later)) == len(INDICATORS)
    assert_ledger_balances(clean_target)


# --- 11. formulas in cells with no position, error values -------------------------------


def test_an_unsaved_formula_in_a_cell_with_no_position_is_named_by_its_place(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    sheets = report_sheets("QD001", 2024)
    sheets["运行数据"][4][2] = "=C2+C3"
    path = xlsx(folder / "年度报告_QD001_2024.xlsx", sheets)
    rewrite_part(path, "xl/worksheets/sheet2.xml", lambda data: re.sub(rb' r="[A-Z]*\d+"', b"", data))

    report = ingest_reports(clean_target, [folder])
    assert report.ok, report.errors
    assert "运行数据!C5" not in [cell for *_, cell in indicators_of(clean_target, path)]
    assert len(indicators_of(clean_target, path)) == len(INDICATORS) - 1
    assert load_rejects(clean_target, "center_reports") == [
        (path.name, 5, "运行数据!C5", "formula_without_value", f"cell 运行数据!C5 {UNSAVED}")
    ]
    assert_ledger_balances(clean_target)


def test_an_error_cell_is_rejected_by_its_cell_not_read_as_empty(clean_target, tmp_path):
    folder = folder_of(tmp_path, "landing")
    shutil.copy2(SAMPLE, folder / "contracts_202401.csv")
    export = xlsx(folder / "contracts_202402.xlsx", {"合同登记": [HEADER, *HUNDRED]})
    rewrite_part(
        export,
        "xl/worksheets/sheet1.xml",
        lambda data: re.sub(rb'<c r="P6"[^>]*>.*?</c>', b'<c r="P6" t="e"><v>#REF!</v></c>', data),
    )
    reports_folder = folder_of(tmp_path, "reports")
    path = xlsx(reports_folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    rewrite_part(
        path,
        "xl/worksheets/sheet2.xml",
        lambda data: re.sub(rb'<c r="C6"[^>]*>.*?</c>', b'<c r="C6" t="e"><f>C2/0</f><v>#DIV/0!</v></c>', data),
    )

    contracts = ingest_contracts(clean_target, [folder])
    assert [Path(b.source).name for b in contracts.batches] == ["contracts_202401.csv"]
    assert contracts.errors == [
        f"{export}: cell 合同登记!P6 holds the error #REF!: correct it and save the workbook again"
        " (1 such cell; the file is rejected whole)"
    ]
    reports = ingest_reports(clean_target, [reports_folder])
    assert reports.ok, reports.errors
    assert len(indicators_of(clean_target, path)) == len(INDICATORS) - 1
    assert load_rejects(clean_target, "center_reports") == [
        (path.name, 6, "运行数据!C6", "error_value", "cell 运行数据!C6 holds the error #DIV/0!")
    ]
    assert_ledger_balances(clean_target)


# --- 12. identity labels and years ------------------------------------------------------


def test_identity_labels_with_a_colon_and_years_that_are_not_the_year_are_checked(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    sheets = report_sheets("QD001", 2024)
    sheets["基本信息"][1] = ["中心编号：", "QD009"]
    colon = xlsx(folder / "年度报告_QD001_2024.xlsx", sheets)
    sheets = report_sheets("QD002", 2024)
    sheets["基本信息"][3] = ["报告年度:", 2019]
    half = xlsx(folder / "年度报告_QD002_2024.xlsx", sheets)
    longer = xlsx(folder / "年度报告_QD003_2024.xlsx", report_sheets("QD003", 2024, info_year="20241"))
    span = xlsx(folder / "年度报告_QD004_2024.xlsx", report_sheets("QD004", 2024, info_year="2024-2025"))
    worded = xlsx(folder / "年度报告_QD005_2024.xlsx", report_sheets("QD005", 2024, info_year="2024年度"))
    number = xlsx(folder / "年度报告_QD006_2024.xlsx", report_sheets("QD006", 2024, info_year=2024.0))
    sheets = report_sheets("QD007", 2024)
    sheets["基本信息"][1] = ["中心编号：", "QD007"]
    good_colon = xlsx(folder / "年度报告_QD007_2024.xlsx", sheets)

    report = ingest_reports(clean_target, [folder])
    assert [Path(b.source).name for b in report.batches] == [worded.name, number.name, good_colon.name]
    mismatch = " a report whose cells disagree with its name is not loaded"
    assert report.errors == [
        f"{colon}: cell 基本信息!B2 says 中心编号 'QD009', the file name says QD001:{mismatch}",
        f"{half}: cell 基本信息!B4 says 报告年度 '2019', the file name says 2024:{mismatch}",
        f"{longer}: cell 基本信息!B4 says 报告年度 '20241', the file name says 2024:{mismatch}",
        f"{span}: cell 基本信息!B4 says 报告年度 '2024-2025', the file name says 2024:{mismatch}",
    ]
    assert ("中心编号", "QD007", "基本信息!B2") in fields_of(clean_target, good_colon)
    assert_ledger_balances(clean_target)


def test_an_identity_cell_holding_an_unsaved_formula_is_rejected_and_the_rest_loads(clean_target, tmp_path):
    folder = folder_of(tmp_path, "reports")
    path = xlsx(folder / "年度报告_QD001_2024.xlsx", report_sheets("QD001", 2024))
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda data: re.sub(rb'<c r="B2"[^>]*>.*?</c>', b'<c r="B2" t="str"><f>"QD00"&amp;"9"</f></c>', data, count=1),
    )

    report = ingest_reports(clean_target, [folder])
    assert report.ok, report.errors
    assert "中心编号" not in [label for label, *_ in fields_of(clean_target, path)]
    assert load_rejects(clean_target, "center_reports") == [
        (path.name, 2, "基本信息!B2", "formula_without_value", f"cell 基本信息!B2 {UNSAVED}")
    ]
    assert len(indicators_of(clean_target, path)) == len(INDICATORS)
    assert_ledger_balances(clean_target)
