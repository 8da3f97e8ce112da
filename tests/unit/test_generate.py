"""`ttw generate` on a small scale: determinism, layout, and a manifest that lists every defect."""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from generated import manifest, parse_amount, parse_date, platform_records, registry_rows
from openpyxl import load_workbook

from ttw.codes import PROVINCE_PREFIXES, QINGDAO_DISTRICTS, is_valid_credit_code
from ttw.errors import TTWError
from ttw.extract.registry import REQUIRED_VALUES
from ttw.extract.reports import SHEETS
from ttw_dev.generate import generate
from ttw_dev.generate.centers import INDICATORS

DATASETS = ["small_dataset", "defective_dataset"]


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_and_scale_give_identical_bytes(small_dataset, tmp_path):
    again = tmp_path / "again"
    # another process with another string-hash seed: no ordering may depend on it
    subprocess.run(
        [str(Path(sys.executable).with_name("ttw")), "generate", "--out", str(again), "--scale", "0.05", "--seed", "7"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
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
    first_cells = {
        (small_dataset / f).read_bytes().lstrip(b"\xef\xbb\xbf")[:15] for f in registry if f.endswith(".csv")
    }
    assert any(c.startswith(b"registration_no") for c in first_cells)  # English headers
    assert any(not c.startswith(b"registration_no") for c in first_cells)  # Chinese labels


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
            if any(row[c] == "" for c in REQUIRED_VALUES):
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


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_registry_defect_in_the_files_is_listed_and_no_other(dataset, request):
    small_dataset = request.getfixturevalue(dataset)
    listed = {
        (d["file"], d["row"], d["kind"])
        for d in manifest(small_dataset)["defects"]
        if d["file"].startswith("registry/")
    }
    assert listed == scan_registry_defects(small_dataset)
    if dataset != "defective_dataset":
        return  # at 1% a small sample need not show every kind; at 30% it does
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


@pytest.mark.parametrize("dataset", DATASETS)
def test_file_counts_are_true_and_no_number_repeats_within_a_file_unless_listed(dataset, request):
    root = request.getfixturevalue(dataset)
    data = manifest(root)
    duplicates = {(d["file"], d["row"]) for d in data["defects"] if d["kind"] == "duplicate_row"}
    for relpath, rows in data["files"].items():
        if not relpath.startswith("registry/"):
            continue
        records = list(registry_rows(root / relpath))
        assert len(records) == rows, relpath
        seen: set[str] = set()
        for number, row in records:
            number_ = row["registration_no"]
            if number_ and number_ in seen:
                assert (relpath, number) in duplicates, (relpath, number)
            seen.add(number_)


@pytest.mark.parametrize("dataset", DATASETS)
def test_csv_defects_name_the_file_line_and_xlsx_defects_the_cell(dataset, request):
    small_dataset = request.getfixturevalue(dataset)
    for defect in manifest(small_dataset)["defects"]:
        if defect["file"].startswith("registry/"):
            if defect["file"].endswith(".csv"):
                assert defect["line"] == defect["row"] + 1
            else:
                assert defect["cell"].startswith("合同登记!")
                assert defect["cell"].endswith(str(defect["row"] + 1))


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_report_defect_in_the_workbooks_is_listed_and_no_other(dataset, request):
    small_dataset = request.getfixturevalue(dataset)
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


def test_corrections_come_in_a_later_export_with_other_values(small_dataset):
    data = manifest(small_dataset)
    history: dict[str, list[tuple[str, dict]]] = {}
    for relpath in sorted(f for f in data["files"] if f.startswith("registry/")):
        for number, row in registry_rows(small_dataset / relpath):
            history.setdefault(row["registration_no"], []).append((f"{relpath}:{number}", row))
    assert data["corrections"]
    for correction in data["corrections"]:
        versions = history[correction["registration_no"]]
        here = [i for i, (place, _) in enumerate(versions) if place == f"{correction['file']}:{correction['row']}"]
        assert here, "the correction is where the manifest says"
        assert here[0] > 0, "a correction follows an earlier version"
        before_place, before = versions[here[0] - 1]
        after = versions[here[0]][1]
        assert Path(before_place.split(":")[0]).stem < Path(correction["file"]).stem  # an earlier month's export
        assert (before["contract_amount"], before["status"]) != (after["contract_amount"], after["status"])


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
        ({"centers_scale": 0}, "--centers-scale 0"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(TTWError, match=message):
        generate(tmp_path, **kwargs)


def test_output_scales_linearly(small_dataset, tmp_path):
    double = tmp_path / "double"
    generate(double, scale=0.1, seed=7)
    small, large = (
        sum(r for f, r in manifest(root)["files"].items() if f.startswith("registry/"))
        for root in (small_dataset, double)
    )
    assert large / small == pytest.approx(2, rel=0.1)


def test_centers_scale_sizes_the_center_program_and_leaves_the_registry_alone(small_dataset, tmp_path):
    fewer = tmp_path / "fewer_centers"
    generate(fewer, scale=0.05, seed=7, centers_scale=0.025)
    small, halved = manifest(small_dataset), manifest(fewer)
    assert (small["centers_scale"], halved["centers_scale"]) == (0.05, 0.025)

    def total(data, folder):
        return sum(r for f, r in data["files"].items() if f.startswith(f"{folder}/"))

    def workbooks(data):
        return sum(1 for f in data["files"] if f.startswith("reports/"))

    assert total(halved, "registry") == pytest.approx(total(small, "registry"), rel=0.05)
    assert total(halved, "centers") / total(small, "centers") == pytest.approx(0.5, rel=0.15)
    assert workbooks(halved) / workbooks(small) == pytest.approx(0.5, rel=0.15)


def test_regenerating_replaces_a_dataset_and_refuses_other_folders(tmp_path):
    target = tmp_path / "data"
    generate(target, scale=0.02, seed=1, years="2024")
    (target / "registry" / "contracts_209901.csv").write_text("stale")
    generate(target, scale=0.02, seed=1, years="2024")
    assert not (target / "registry" / "contracts_209901.csv").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(TTWError, match="not empty and holds no generated dataset"):
        generate(other, scale=0.02, years="2024")
    assert (other / "keep.txt").read_text() == "mine"


def test_report_workbooks_are_the_same_bytes_with_one_worker_or_many(small_dataset, tmp_path):
    from ttw_dev.generate.centers import build_centers, write_reports
    from ttw_dev.generate.manifest import Manifest
    from ttw_dev.generate.orgs import pool_sizes

    centers = build_centers(7, 0.05, [2022], pool_sizes(0.05))
    outputs = {}
    for workers in (1, 2):
        root = tmp_path / f"w{workers}"
        sheet = Manifest(seed=7, scale=0.05, years=[2022], defect_rate=0.3)
        write_reports(root, centers, [2022], {}, seed=7, defect_rate=0.3, manifest=sheet, workers=workers, batch_size=3)
        outputs[workers] = (root, sheet)
    (one, first), (two, second) = outputs[1], outputs[2]
    assert (first.files, first.defects, first.missing_reports) == (second.files, second.defects, second.missing_reports)
    files = sorted(first.files)
    assert len(files) > 1
    _, mismatch, errors = filecmp.cmpfiles(one, two, files, shallow=False)
    assert (mismatch, errors) == ([], [])
