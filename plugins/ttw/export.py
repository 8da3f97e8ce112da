"""``ttw export centers``: the evaluator workbook (xlsx) or the same tables as CSV files.

Sheets: summary, indicator detail, ranking, flags, and the comprehensive evaluation of
the build periods ending that year. Headers are Chinese by default (``lang="en"`` for
English); numbers stay numbers. Text that a spreadsheet would read as a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with an
apostrophe, so nothing from source data can run as a formula.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from ttw.errors import TTWError
from ttw.evaluate import YearEvaluation, plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# column -> (Chinese header, English header)
HEADERS = {
    "overall_rank": ("排名", "Rank"),
    "center_code": ("中心编号", "Center code"),
    "center_name": ("中心名称", "Center name"),
    "host_org_name": ("依托单位", "Host organization"),
    "district_name": ("所在区市", "District"),
    "industry": ("产业领域", "Industry"),
    "status": ("状态", "Status"),
    "total_score": ("总分", "Total score"),
    "grade": ("等级", "Grade"),
    "industry_rank": ("领域内排名", "Rank in industry"),
    "previous_total_score": ("上年总分", "Last year's score"),
    "score_change": ("分数变化", "Change"),
    "previous_grade": ("上年等级", "Last year's grade"),
    "is_missing_report": ("未报送年报", "Missing report"),
    "has_verification_gap": ("核验差异", "Verification gap"),
    "verification_gap_count": ("差异指标数", "Indicators with a gap"),
    "needs_rectification": ("需整改", "Rectification"),
    "is_recommended_for_removal": ("建议撤销", "Recommended removal"),
    "dropped_indicators": ("重报缺少的指标", "Indicators a re-delivery dropped"),
    "category": ("类别", "Category"),
    "indicator_name": ("指标", "Indicator"),
    "indicator_name_en": ("指标(英文)", "Indicator (English)"),
    "unit": ("单位", "Unit"),
    "reported_value": ("报送值", "Reported"),
    "registry_verified_value": ("登记核验值", "Registry-verified"),
    "value_basis": ("取值依据", "Value basis"),
    "scored_value": ("计分值", "Scored value"),
    "normalized_score": ("标准化得分", "Normalized score"),
    "weight": ("权重", "Weight"),
    "contribution": ("加权得分", "Contribution"),
    "item": ("项目", "Item"),
    "value": ("数值", "Value"),
    "build_start": ("建设期开始", "Build start"),
    "build_end": ("建设期结束", "Build end"),
    "years_evaluated": ("评价年数", "Years evaluated"),
    "annual_grades": ("年度等级", "Annual grades"),
    "combined_score": ("综合得分", "Combined score"),
    "combined_grade": ("综合等级", "Combined grade"),
    "outcome_zh": ("评价结论", "Outcome"),
    "stays_in_system": ("保留", "Stays in the system"),
}
SHEETS = {  # key -> (Chinese name, English name, columns)
    "summary": ("汇总", "Summary", ("item", "value")),
    "indicators": (
        "指标明细",
        "Indicators",
        (
            "center_code",
            "center_name",
            "category",
            "indicator_name",
            "indicator_name_en",
            "unit",
            "reported_value",
            "registry_verified_value",
            "value_basis",
            "scored_value",
            "normalized_score",
            "weight",
            "contribution",
        ),
    ),
    "ranking": (
        "排名",
        "Ranking",
        (
            "overall_rank",
            "center_code",
            "center_name",
            "host_org_name",
            "district_name",
            "industry",
            "total_score",
            "grade",
            "industry_rank",
            "previous_total_score",
            "score_change",
            "previous_grade",
        ),
    ),
    "flags": (
        "预警",
        "Flags",
        (
            "center_code",
            "center_name",
            "district_name",
            "total_score",
            "grade",
            "is_missing_report",
            "has_verification_gap",
            "verification_gap_count",
            "needs_rectification",
            "is_recommended_for_removal",
            "dropped_indicators",
        ),
    ),
    "comprehensive": (
        "综合评价",
        "Comprehensive",
        (
            "center_code",
            "center_name",
            "build_start",
            "build_end",
            "years_evaluated",
            "annual_grades",
            "combined_score",
            "combined_grade",
            "outcome_zh",
            "stays_in_system",
        ),
    ),
}


def neutralise(value: object) -> object:
    """A cell value that cannot run as a spreadsheet formula; numbers and dates unchanged."""
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _summary(evaluation: YearEvaluation, lang: str) -> list[dict]:
    zh = lang == "zh"
    grades = Counter(row["grade"] for row in evaluation.centers)
    scores = [float(row["total_score"]) for row in evaluation.centers]
    rows = [
        ("评价年度" if zh else "Year", evaluation.year),
        ("参评中心数" if zh else "Centers evaluated", len(evaluation.centers)),
        ("平均分" if zh else "Average score", round(sum(scores) / len(scores), 2)),
        *((f"{grade}{'数' if zh else ''}", grades[grade]) for grade in evaluation.grades()),
        (
            "未报送年报" if zh else "Missing reports",
            sum(1 for row in evaluation.centers if row["is_missing_report"]),
        ),
        (
            "核验差异" if zh else "Verification gaps",
            sum(1 for row in evaluation.centers if row["has_verification_gap"]),
        ),
        (
            "建议撤销" if zh else "Recommended for removal",
            sum(1 for row in evaluation.centers if row["is_recommended_for_removal"]),
        ),
        ("建设期届满中心数" if zh else "Build periods ending", len(evaluation.comprehensive)),
    ]
    return [{"item": item, "value": value} for item, value in rows]


def tables(evaluation: YearEvaluation, lang: str = "zh") -> dict[str, tuple[str, list[str], list[list]]]:
    """Sheet key -> (sheet name, headers, rows of neutralised values)."""
    if lang not in ("zh", "en"):
        raise TTWError(f"--lang {lang!r}: expected zh or en")
    column = 0 if lang == "zh" else 1
    sources = {
        "summary": _summary(evaluation, lang),
        "indicators": evaluation.indicators,
        "ranking": evaluation.centers,
        "flags": evaluation.flagged(),
        "comprehensive": evaluation.comprehensive,
    }
    result = {}
    for key, (name_zh, name_en, columns) in SHEETS.items():
        headers = [HEADERS[c][column] for c in columns]
        rows = [[neutralise(row.get(c)) for c in columns] for row in sources[key]]
        result[key] = (name_zh if lang == "zh" else name_en, headers, rows)
    return result


def write_xlsx(evaluation: YearEvaluation, path: Path, lang: str = "zh") -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for name, headers, rows in tables(evaluation, lang).values():
        sheet = workbook.create_sheet(name)
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, 2 * len(header) + 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def write_csv(evaluation: YearEvaluation, folder: Path, lang: str = "zh") -> list[Path]:
    """One UTF-8 (with BOM, so Excel reads the Chinese) CSV file per sheet in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (_, headers, rows) in tables(evaluation, lang).items():
        path = folder / f"centers_{evaluation.year}_{key}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            writer.writerows(rows)
        written.append(path)
    return written
