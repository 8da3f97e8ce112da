"""Explainability marts on the sample data: where each reported value came from (workbook
and cell), the achievements and plans of each center's current report, the instrument
sharing figures behind the sharing rate, and what changed between two versions of a report."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ttw.build import build
from ttw.ingest import ingest_reports
from ttw.pipeline import ingest_dataset
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers

YEAR = 2023
CORRECTED = {"研发人员数": 4321, "技术转让收入": 77.5}  # figures of one report, delivered again corrected


def _build_audit_publish(settings, target) -> None:
    assert "Completed successfully" in build(settings, target)
    audited = audit(settings, target)
    assert audited.ok, audited.failed_critical
    publish(settings, target)


def _corrected_copy(workbook: Path, folder: Path) -> Path:
    """The same report delivered again with the figures of CORRECTED changed, one
    achievement fewer and the plans rewritten."""
    book = load_workbook(workbook)
    for row in book["运行数据"].iter_rows(min_row=3):
        if row[0].value in CORRECTED:
            row[2].value = CORRECTED[row[0].value]
    results = book["重大成果"]
    if results.max_row > 2:
        results.delete_rows(results.max_row)
    book["问题与计划"]["A2"].value = "人才队伍已补齐。"
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / workbook.name)
    return folder / workbook.name


def _set_figures(workbook: Path, figures: dict[str, object]) -> None:
    """Give the indicators of ``figures`` these values (None: take the row out)."""
    book = load_workbook(workbook)
    sheet = book["运行数据"]
    for row in reversed(range(1, sheet.max_row + 1)):
        label = sheet.cell(row, 1).value
        if label in figures:
            if figures[label] is None:
                sheet.delete_rows(row)
            else:
                sheet.cell(row, 3).value = figures[label]
    book.save(workbook)


def _dataset(small_dataset: Path, root: Path) -> dict[str, str]:
    """A copy of the small dataset where, in 2024, one center filed no report, one reports
    no large instruments, one no effective machine hours; returns their center codes."""
    shutil.copytree(small_dataset, root)
    reports = sorted((root / "reports" / "2024").glob("年度报告_*.xlsx"))
    codes = {}
    for case, workbook in zip(("no_report", "no_instruments", "no_effective_hours"), reports[-3:], strict=True):
        codes[case] = workbook.stem.split("_")[1]
        if case == "no_report":
            workbook.unlink()
        elif case == "no_instruments":
            _set_figures(workbook, {"大型仪器数": 0, "有效机时": 0, "对外共享机时": 0})
        else:
            _set_figures(workbook, {"有效机时": None})
    return codes


@pytest.fixture(scope="module")
def explained(target, settings, small_dataset, tmp_path_factory):
    """The small dataset (with the cases of ``_dataset``) published, then one 2023 report
    delivered again corrected and published."""
    reset_layers(target)
    dataset = tmp_path_factory.mktemp("explained") / "data"
    cases = _dataset(small_dataset, dataset)
    assert ingest_dataset(target, dataset).ok
    _build_audit_publish(settings, target)
    with connect(target) as conn:
        center, first_file = conn.execute(
            "select center_code, report_file from marts.fct_center_indicators"
            " where evaluation_year = %s and has_report group by 1, 2"
            " having count(reported_value) = count(*) order by 1 limit 1",
            (YEAR,),
        ).fetchone()
        before = dict(
            conn.execute(
                "select indicator_name, reported_value from marts.fct_center_indicators"
                " where center_code = %s and evaluation_year = %s",
                (center, YEAR),
            ).fetchall()
        )
    second = _corrected_copy(Path(first_file), tmp_path_factory.mktemp("redelivered"))
    assert ingest_reports(target, [second]).ok
    _build_audit_publish(settings, target)
    return {
        "target": target,
        "center": center,
        "first": first_file,
        "second": str(second),
        "before": before,
        "cases": cases,
    }


def test_every_reported_value_names_its_workbook_and_cell(explained):
    with connect(explained["target"]) as conn:
        rows = conn.execute(
            "select f.center_code, f.evaluation_year, f.indicator_name, f.reported_value, f.has_report,"
            " f.report_file, f.report_cell, raw.value, raw._source_file"
            " from marts.fct_center_indicators as f"
            " left join raw.report_indicators as raw"
            "   on raw._source_file = f.report_file and raw.cell = f.report_cell"
        ).fetchall()
    with_value = [r for r in rows if r[3] is not None]
    assert with_value
    # the cell named holds the indicator's row of the current workbook
    assert all(r[7] is not None and r[8] == r[5] for r in with_value)
    assert all(r[6].startswith("运行数据!C") for r in with_value)
    without_report = [r for r in rows if not r[4]]
    assert without_report
    assert all(r[5] is None and r[6] is None for r in without_report)
    # the corrected report's cells are those of its second version
    mine = [r for r in with_value if r[0] == explained["center"] and r[1] == YEAR]
    assert {r[5] for r in mine} == {explained["second"]}
    assert {r[2]: r[3] for r in mine if r[2] in CORRECTED} == {k: Decimal(str(v)) for k, v in CORRECTED.items()}
