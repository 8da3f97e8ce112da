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
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

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


def _sheet_items(workbook: str, sheet: str) -> list[tuple]:
    book = load_workbook(workbook)
    return [
        (cell.value, f"{sheet}!{cell.coordinate}")
        for row in book[sheet].iter_rows()
        for cell in row
        if cell.value not in (None, "")
    ]


def test_achievements_and_plans_are_those_of_the_current_report_in_sheet_order(explained):
    center = explained["center"]
    with connect(explained["target"]) as conn:
        achievements = conn.execute(
            "select item_order, achievement_name, achievement_type, source_file, source_cell"
            " from marts.fct_center_achievements where center_code = %s and report_year = %s order by item_order",
            (center, YEAR),
        ).fetchall()
        plans = conn.execute(
            "select item_order, plan_text, source_file, source_cell"
            " from marts.fct_center_plans where center_code = %s and report_year = %s order by item_order",
            (center, YEAR),
        ).fetchall()
        per_report = conn.execute(
            "select count(*), count(distinct (center_code, report_year)) from marts.fct_center_achievements"
        ).fetchone()
        reports = conn.execute(
            "select count(*) from marts.fct_center_report_versions where is_current_version"
        ).fetchone()
        orphans = conn.execute(
            "select count(*) from marts.fct_center_plans as p where not exists (select from"
            " marts.fct_center_report_versions as v where v.batch_id = p.batch_id and v.is_current_version)"
        ).fetchone()[0]
    # the corrected workbook's items, not the first version's: one achievement fewer, a new plan text
    first_rows = [(n, c) for n, c in _sheet_items(explained["first"], "重大成果") if c != "重大成果!A1"]
    sheet_rows = [(n, c) for n, c in _sheet_items(explained["second"], "重大成果") if c.startswith("重大成果!A")][1:]
    assert [(name, cell) for _, name, _, _, cell in achievements] == sheet_rows
    assert len(achievements) == len([c for _, c in first_rows if c.startswith("重大成果!A")]) - 1
    assert [order for order, *_ in achievements] == list(range(1, len(achievements) + 1))
    assert {file for *_, file, _ in achievements} == {explained["second"]}
    assert [(text, cell) for _, text, _, cell in plans] == _sheet_items(explained["second"], "问题与计划")
    assert plans[1][1] == "人才队伍已补齐。"
    # every current report has its items, once
    assert per_report[1] == reports[0]
    assert orphans == 0


def test_instrument_sharing_gives_the_rate_or_says_why_not(explained):
    cases = explained["cases"]
    with connect(explained["target"]) as conn:
        rows = {
            (r[0], r[1]): r[2:]
            for r in conn.execute(
                "select center_code, evaluation_year, has_report, large_instruments, effective_machine_hours,"
                " shared_machine_hours, has_instruments, sharing_rate_pct, note_zh, note_en"
                " from marts.rpt_center_instrument_sharing"
            ).fetchall()
        }
        center_years = conn.execute(
            "select count(*) from (select distinct center_code, evaluation_year from marts.fct_center_indicators) as y"
        ).fetchone()[0]
    assert len(rows) == center_years  # every center-year in the system, once
    assert rows[(cases["no_report"], 2024)] == (
        False,
        None,
        None,
        None,
        False,
        None,
        "未提交年度报告，不计算共享率",
        "No annual report filed: no sharing rate",
    )
    assert rows[(cases["no_instruments"], 2024)] == (
        True,
        0,
        0,
        0,
        False,
        None,
        "未报告大型仪器，不计算共享率",
        "No large instruments reported: no sharing rate",
    )
    no_hours = rows[(cases["no_effective_hours"], 2024)]
    assert no_hours[1] > 0
    assert no_hours[2] is None
    assert no_hours[4:] == (
        True,
        None,
        "未报告有效机时，不计算共享率",
        "No effective machine hours reported: no sharing rate",
    )
    rated = [r for r in rows.values() if r[5] is not None]
    assert len(rated) > len(rows) // 2
    for _, instruments, effective, shared, has_instruments, rate, note_zh, note_en in rated:
        assert instruments > 0
        assert has_instruments
        assert rate == (shared * 100 / effective).quantize(Decimal("0.01"))
        assert note_zh is None
        assert note_en is None


def test_report_changes_list_each_indicator_the_corrected_version_changed(explained):
    with connect(explained["target"]) as conn:
        changes = conn.execute(
            "select center_code, report_year, indicator_name, previous_value, current_value, change, change_type,"
            " previous_file, current_file, previous_loaded_at < current_loaded_at, current_version_number"
            " from marts.rpt_center_report_changes order by indicator_order"
        ).fetchall()
    before = explained["before"]
    assert changes == [
        (
            explained["center"],
            YEAR,
            name,
            before[name],
            Decimal(str(value)),
            Decimal(str(value)) - before[name],
            "changed",
            explained["first"],
            explained["second"],
            True,
            2,
        )
        for name, value in CORRECTED.items()
        if before[name] != Decimal(str(value))
    ]
    assert len(changes) == len(CORRECTED)
