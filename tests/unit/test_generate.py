"""`ttw generate` on a small scale: determinism, layout, and a manifest that lists every defect."""

from __future__ import annotations

import datetime as dt
import filecmp
import re
from pathlib import Path

import pytest
from generated import manifest, parse_amount, parse_date, platform_records, registry_rows
from openpyxl import load_workbook

from ttw.codes import PROVINCE_PREFIXES, QINGDAO_DISTRICTS, is_valid_credit_code
from ttw.errors import TTWError
from ttw.generate import generate
from ttw.generate.centers import INDICATORS, SHEETS

REQUIRED = ("registration_no", "contract_type", "contract_amount", "seller_name", "registered_on")


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_and_scale_give_identical_bytes(small_dataset, tmp_path):
    again = tmp_path / "again"
    generate(again, scale=0.05, seed=7)
    files = all_files(small_dataset)
    assert files == all_files(again)
    assert any(f.endswith(".xlsx") for f in files)
    _, mismatch, errors = filecmp.cmpfiles(small_dataset, again, files, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_another_seed_gives_other_data(small_dataset, tmp_path):
    other = tmp_path / "other"
    generate(other, scale=0.05, seed=8)
    first = {
        row["registration_no"]: row
        for _, row in registry_rows(small_dataset / "registry" / manifest_first(small_dataset))
    }
    second = {row["registration_no"]: row for _, row in registry_rows(other / "registry" / manifest_first(other))}
    assert first != second
    assert manifest(small_dataset)["defects"] != manifest(other)["defects"]


def manifest_first(root: Path) -> str:
    return next(Path(f).name for f in sorted(manifest(root)["files"]) if f.startswith("registry/contracts_202101"))


def test_layout_and_formats_follow_the_design(small_dataset):
    files = manifest(small_dataset)["files"]
    registry = [f for f in files if f.startswith("registry/")]
    assert len(registry) == 60  # a file a month, 2021-2025
    assert any(f.endswith(".xlsx") for f in registry)
    assert [f for f in files if f.startswith("centers/")] == [f"centers/centers_{y}.csv" for y in range(2021, 2026)]
    assert all(
        Path(f).name == f"年度报告_{Path(f).name.split('_')[1]}_{f.split('/')[1]}.xlsx"
        for f in files
        if f.startswith("reports/")
    )
    platform = sorted(f for f in files if f.startswith("platform/"))
    assert platform == [
        "platform/challenges/challenges.jsonl",
        "platform/finance/financing_needs.jsonl",
        "platform/finance/loans.jsonl",
        "platform/tech_market/achievements.jsonl",
        "platform/tech_market/demands.jsonl",
        "platform/tech_market/matches.jsonl",
    ]
    heads = [(small_dataset / f).read_bytes()[:3] for f in registry if f.endswith(".csv")]
    assert any(h == b"\xef\xbb\xbf" for h in heads)  # UTF-8 with BOM
    encodings = set()
    for f in registry:
        if f.endswith(".csv"):
            data = (small_dataset / f).read_bytes()
            try:
                data.decode("utf-8")
                encodings.add("utf-8")
            except UnicodeDecodeError:
                data.decode("gb18030")
                encodings.add("gb18030")
    assert encodings == {"utf-8", "gb18030"}


def test_registry_rows_show_every_date_style_and_amount_format(small_dataset):
    styles, separators = set(), False
    for relpath in manifest(small_dataset)["files"]:
        if relpath.startswith("registry/") and relpath.endswith(".csv"):
            for _, row in registry_rows(small_dataset / relpath):
                value = row["registered_on"]
                styles.add("cn" if "年" in value else "slash" if "/" in value else "iso" if "-" in value else "?")
                separators |= "," in row["contract_amount"]
    assert {"iso", "slash", "cn"} <= styles
    assert separators


def scan_registry_defects(root: Path) -> set[tuple[str, int, str]]:
    """Find the defects in the registry files by looking at the rows themselves."""
    found = set()
    for relpath in manifest(root)["files"]:
        if not relpath.startswith("registry/"):
            continue
        year, month = (int(g) for g in re.search(r"contracts_(\d{4})(\d{2})", relpath).groups())
        month_end = dt.date(year, month, 28) + dt.timedelta(days=4)
        previous = None
        for number, row in registry_rows(root / relpath):
            amount, tech = parse_amount(row["contract_amount"]), parse_amount(row["tech_transaction_amount"])
            region = row["seller_region_code"]
            signed = parse_date(row["signed_on"])
            if any(row[c] == "" for c in REQUIRED):
                found.add((relpath, number, "missing_required_field"))
            elif row == previous:
                found.add((relpath, number, "duplicate_row"))
            elif amount is not None and amount <= 0:
                found.add((relpath, number, "non_positive_amount"))
            elif amount is not None and tech is not None and tech > amount:
                found.add((relpath, number, "tech_amount_exceeds_contract"))
            elif region not in QINGDAO_DISTRICTS and (region[:2] not in PROVINCE_PREFIXES or region.startswith("3702")):
                found.add((relpath, number, "unknown_region_code"))
            elif not is_valid_credit_code(row["seller_credit_code"]):
                found.add((relpath, number, "malformed_credit_code"))
            elif signed is not None and signed > month_end:
                found.add((relpath, number, "future_date"))
            previous = row
    return found


def test_every_registry_defect_in_the_files_is_listed_and_no_other(small_dataset):
    listed = {
        (d["file"], d["row"], d["kind"])
        for d in manifest(small_dataset)["defects"]
        if d["file"].startswith("registry/")
    }
    assert listed == scan_registry_defects(small_dataset)
    kinds = {kind for _, _, kind in listed}
    assert kinds == {
        "tech_amount_exceeds_contract",
        "non_positive_amount",
        "unknown_region_code",
        "malformed_credit_code",
        "future_date",
        "duplicate_row",
        "missing_required_field",
    }


def test_csv_defects_name_the_file_line_and_xlsx_defects_the_cell(small_dataset):
    for defect in manifest(small_dataset)["defects"]:
        if defect["file"].startswith("registry/"):
            if defect["file"].endswith(".csv"):
                assert defect["line"] == defect["row"] + 1
            else:
                assert defect["cell"].startswith("合同登记!")
                assert defect["cell"].endswith(str(defect["row"] + 1))


def test_every_report_defect_in_the_workbooks_is_listed_and_no_other(small_dataset):
    found = set()
    for relpath in manifest(small_dataset)["files"]:
        if not relpath.startswith("reports/"):
            continue
        book = load_workbook(small_dataset / relpath)
        for sheet in ("基本信息", "运行数据"):
            if sheet not in book.sheetnames:
                found.add((relpath, "missing_sheet", sheet))
        if "运行数据" in book.sheetnames:
            for row in book["运行数据"].iter_rows(min_row=3):
                label, _unit, value = (cell.value for cell in row[:3])
                if label in INDICATORS and isinstance(value, str) and parse_amount(value) is None:
                    found.add((relpath, "non_numeric_indicator", f"C{row[0].row}"))
    listed = {
        (d["file"], d["kind"], d.get("sheet") if d["kind"] == "missing_sheet" else d["cell"])
        for d in manifest(small_dataset)["defects"]
        if d["file"].startswith("reports/")
    }
    assert listed == found
    assert {kind for _, kind, _ in listed} == {"missing_sheet", "non_numeric_indicator"}


def test_report_workbooks_have_the_design_layout(small_dataset):
    relpath = next(
        f
        for f in manifest(small_dataset)["files"]
        if f.startswith("reports/") and not any(d["file"] == f for d in manifest(small_dataset)["defects"])
    )
    book = load_workbook(small_dataset / relpath)
    assert book.sheetnames == list(SHEETS)
    info = book["基本信息"]
    assert "A1:B1" in {str(r) for r in info.merged_cells.ranges}
    labels = {row[0].value: row[1].value for row in info.iter_rows(min_row=3) if row[0].value}
    assert labels["中心编号"] == relpath.split("_")[1]
    assert str(labels["报告年度"]) == relpath.split("/")[1]
    data = book["运行数据"]
    assert [c.value for c in data[2]] == ["指标", "单位", "本年数值"]
    indicators = {row[0].value: row[1].value for row in data.iter_rows(min_row=3) if row[0].value}
    assert indicators == INDICATORS


def test_corrections_repeat_an_earlier_registration_number(small_dataset):
    data = manifest(small_dataset)
    seen: dict[str, str] = {}
    for relpath in sorted(f for f in data["files"] if f.startswith("registry/")):
        for number, row in registry_rows(small_dataset / relpath):
            seen.setdefault(row["registration_no"], f"{relpath}:{number}")
    assert data["corrections"]
    for correction in data["corrections"]:
        first = seen[correction["registration_no"]]
        assert first != f"{correction['file']}:{correction['row']}", "a correction repeats an earlier row"


def test_platform_records_carry_id_updated_at_and_deleted(small_dataset):
    achievements = platform_records(small_dataset, "tech_market", "achievements")
    assert all({"id", "updated_at", "deleted"} <= set(r) for r in achievements)
    assert any(r["deleted"] for r in achievements)
    ids = [r["id"] for r in achievements]
    assert len(ids) > len(set(ids))  # later versions of some records
    registered = [m for m in platform_records(small_dataset, "tech_market", "matches") if m["registration_no"]]
    assert registered


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0}, "--scale 0"),
        ({"years": "2025-2021"}, "--years"),
        ({"years": "1999"}, "calibrated for"),
        ({"defect_rate": 0.9}, "--defect-rate"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(TTWError, match=message):
        generate(tmp_path, **kwargs)
