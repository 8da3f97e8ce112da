"""The evaluator workbook (xlsx) or the same tables as CSV files (``ttw export centers``).

One language per file. The Chinese file (``lang="zh"``, the default) has every sheet
name, header, category, value basis, normalization, unit, grade, outcome and yes/no in
Chinese (是/否); the English file (``lang="en"``) has them in English, from the marts'
``*_en`` columns (Yes/No). Center, host and district names are proper names and stay as
they are in both, and so do the report workbook's file name and cell (e.g. 运行数据!C7):
they say where to look in the workbook as delivered.

Sheets: 说明 (the year, the as-of time of the data, the published build, the scheme
version, how to read the marks), 综合评价 (build periods ending that year: the funding
decision), 汇总, 排名 (graded centers; ⚠ marks a verification gap), 指标明细 (every
figure behind a score: reported and registry value, gap, value basis, value scored,
benchmark or target, score, weight, points, report file and cell), 预警, and 新建中心
(listed that year, not graded). Every figure is a mart's: the summary is the year's row of
``rpt_center_evaluation_summary`` and ``rpt_center_grade_counts``, the flags sheet the
centers of ``rpt_center_flags``. Numbers stay numbers; text that a spreadsheet would
read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is prefixed with an apostrophe, so nothing from source data can run as a formula.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from ttw.errors import TTWError
from ttw.evaluation.data import YearEvaluation, plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GAP_MARK = {"zh": "⚠ 核验差异", "en": "⚠ Verification gap"}
YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}

# the marts carry no English name of an industry or a roster status: the roster's terms


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its headers and the mart column giving its value in each language."""

    zh: str
    en: str
    source_zh: str | None = None  # default: the column's key
    source_en: str | None = None  # default: source_zh
    kind: str = "value"  # value | bool | score (2 decimals) | gap_mark | indicator_list

    def source(self, key: str, lang: str) -> str:
        if lang == "en" and self.source_en:
            return self.source_en
        return self.source_zh or key


COLUMNS = {
    "item": Column("项目", "Item"),
    "value": Column("数值", "Value"),
    "overall_rank": Column("排名", "Rank"),
    "verification_mark": Column("核验标记", "Verification", "has_verification_gap", kind="gap_mark"),
    "center_code": Column("中心编号", "Center code"),
    "center_name": Column("中心名称", "Center name"),
    "host_org_name": Column("依托单位", "Host organization"),
    "district_name": Column("所在区市", "District", source_en="district_name_en"),
    "industry": Column("产业领域", "Industry", source_en="industry_en"),
    "status": Column("状态", "Status", source_en="status_en"),
    "approved_on": Column("批准日期", "Approved on"),
    "build_start": Column("建设期开始", "Build start"),
    "build_end": Column("建设期结束", "Build end"),
    "is_in_build_period": Column("处于建设期", "In build period", kind="bool"),
    "scheme_version": Column("评价方案版本", "Scheme version"),
    "total_score": Column("总分", "Total score", kind="score"),
    "grade": Column("等级", "Grade", source_en="grade_en"),
    "industry_rank": Column("领域内排名", "Rank in industry"),
    "previous_total_score": Column("上年总分", "Last year's score", kind="score"),
    "score_change": Column("分数变化", "Change", kind="score"),
    "previous_grade": Column("上年等级", "Last year's grade", source_en="previous_grade_en"),
    "annual_outcome": Column("年度结论", "Annual outcome", "annual_outcome_zh", "annual_outcome_en"),
    "stays_in_system": Column("保留在体系内", "Stays in the system", kind="bool"),
    "is_missing_report": Column("未报送年报", "Missing report", kind="bool"),
    "has_verification_gap": Column("核验差异", "Verification gap", kind="bool"),
    "verification_gap_count": Column("差异指标数", "Indicators with a gap"),
    "needs_rectification": Column("限期整改", "Rectification", kind="bool"),
    "is_recommended_for_removal": Column("建议撤销", "Recommended for removal", kind="bool"),
    "is_listed_after_removal": Column("撤销后仍在名单", "Listed after removal", kind="bool"),
    "removed_in_year": Column("撤销决定年度", "Removed in year"),
    "dropped_indicators": Column("重报缺少的指标", "Indicators a re-delivery dropped", kind="indicator_list"),
    "category": Column("类别", "Category", "category_zh", "category_en"),
    "indicator_name": Column("指标", "Indicator", source_en="indicator_name_en"),
    "unit": Column("单位", "Unit", source_en="unit_en"),
    "reported_value": Column("报送值", "Reported"),
    "registry_verified_value": Column("登记核验值", "Registry value"),
    "verification_gap": Column("差额(报送\u2212登记)", "Gap (reported \u2212 registry)"),
    "value_basis": Column("取值依据", "Value basis", "value_basis_zh", "value_basis_en"),
    "scored_value": Column("计分值", "Value scored"),
    "normalization": Column("计分方法", "Scoring method", "normalization_zh", "normalization_en"),
    "benchmark_percentile": Column("基准分位", "Benchmark percentile"),
    "target_value": Column("目标值", "Target"),
    "benchmark_value": Column("基准值", "Benchmark value"),
    "normalized_score": Column("标准化得分", "Score (0\u2013100)", kind="score"),
    "weight": Column("权重", "Weight"),
    "contribution": Column("加权得分", "Points", kind="score"),
    "report_file": Column("年报文件", "Report file"),
    "report_cell": Column("单元格", "Cell"),
    "value_note": Column("说明", "Note", "value_note_zh", "value_note_en"),
    "years_evaluated": Column("评价年数", "Years evaluated"),
    "annual_grades": Column("年度等级", "Annual grades", source_en="annual_grades_en"),
    "combined_score": Column("综合得分", "Combined score", kind="score"),
    "lowest_annual_score": Column("最低年度得分", "Lowest annual score", kind="score"),
    "combined_grade": Column("综合等级", "Combined grade", source_en="combined_grade_en"),
    "unqualified_years": Column("不合格年数", "Unqualified years"),
    "outcome": Column("综合评价结论", "Outcome", "outcome_zh", "outcome_en"),
    "cutoff_date": Column("认定截止日", "Cut-off date"),
}
SHEETS = {  # key -> (Chinese name, English name, columns)
    "about": ("说明", "About", ("item", "value")),
    "comprehensive": (
        "综合评价",
        "Comprehensive",
        (
            "center_code",
            "center_name",
            "district_name",
            "industry",
            "build_start",
            "build_end",
            "years_evaluated",
            "annual_grades",
            "combined_score",
            "lowest_annual_score",
            "combined_grade",
            "unqualified_years",
            "outcome",
            "stays_in_system",
        ),
    ),
    "summary": ("汇总", "Summary", ("item", "value")),
    "ranking": (
        "排名",
        "Ranking",
        (
            "overall_rank",
            "verification_mark",
            "center_code",
            "center_name",
            "host_org_name",
            "district_name",
            "industry",
            "status",
            "total_score",
            "grade",
            "industry_rank",
            "previous_total_score",
            "score_change",
            "previous_grade",
            "annual_outcome",
            "is_listed_after_removal",
            "removed_in_year",
        ),
    ),
    "indicators": (
        "指标明细",
        "Indicators",
        (
            "center_code",
            "center_name",
            "scheme_version",
            "category",
            "indicator_name",
            "unit",
            "reported_value",
            "registry_verified_value",
            "verification_gap",
            "has_verification_gap",
            "value_basis",
            "scored_value",
            "normalization",
            "benchmark_percentile",
            "target_value",
            "benchmark_value",
            "normalized_score",
            "weight",
            "contribution",
            "report_file",
            "report_cell",
            "value_note",
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
            "annual_outcome",
            "is_missing_report",
            "has_verification_gap",
            "verification_gap_count",
            "needs_rectification",
            "is_recommended_for_removal",
            "is_listed_after_removal",
            "removed_in_year",
            "dropped_indicators",
        ),
    ),
    "new_centers": (
        "新建中心",
        "New centers",
        (
            "center_code",
            "center_name",
            "host_org_name",
            "district_name",
            "industry",
            "approved_on",
            "build_start",
            "build_end",
            "cutoff_date",
            "status",
        ),
    ),
}
NEW_STATUS = {"zh": "status_zh", "en": "status_en"}


def neutralise(value: object) -> object:
    """A cell value that cannot run as a spreadsheet formula; numbers and dates unchanged."""
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell(column: Column, key: str, row: dict, lang: str, indicators_en: dict[str, str] | None = None) -> object:
    """The value of ``column`` for ``row`` in ``lang``: yes/no, names and numbers as the file shows them.
    ``indicators_en``: indicator name -> English name, for a list of indicator names (joined by 、)."""
    if key == "status" and "status_zh" in row:  # a new center: 新建, not graded
        return row[NEW_STATUS[lang]]
    value = row.get(column.source(key, lang))
    if value is None and lang == "en" and column.source_en:  # a name with no English twin keeps its own
        value = row.get(column.source(key, "zh"))
    if value is None:
        return None
    if column.kind == "bool":
        return YES_NO[lang][0 if value else 1]
    if column.kind == "gap_mark":
        return GAP_MARK[lang] if value else None
    if column.kind == "score":  # the exact value, shown with 2 decimals (number format 0.00)
        return float(value)
    if lang == "en" and column.kind == "indicator_list":
        return neutralise(", ".join((indicators_en or {}).get(name, name) for name in str(value).split("、")))
    return neutralise(value)


def _about(evaluation: YearEvaluation, lang: str) -> list[dict]:
    zh = lang == "zh"
    source = evaluation.provenance
    frozen = None if source.frozen is None else YES_NO[lang][0 if source.frozen else 1]
    rows = [
        ("评价年度" if zh else "Evaluation year", evaluation.year),
        ("数据截至" if zh else "Data as of", source.as_of_text()),
        ("构建编号" if zh else "Build id", source.build_id or "—"),
        ("发布时间" if zh else "Published at", source.published_text()),
        ("评价方案版本" if zh else "Scheme version", ", ".join(evaluation.scheme_versions())),
        *([("结果已冻结" if zh else "Results frozen", frozen)] if frozen else []),
        (
            "数据截至的含义" if zh else "What 'as of' means",
            "发布的构建所读取的载入批次中最晚的载入时间"
            if zh
            else "the newest load time of the load batches the published build read",
        ),
        (
            GAP_MARK[lang],
            "自报数据与技术合同登记数据相差超过 20%，见「指标明细」的差额列"
            if zh
            else "a self-reported figure differs from the contract registry's by more than 20%:"
            " see the gap column of the Indicators sheet",
        ),
        (
            "新建中心" if zh else "New centers",
            "当年列入名单但在认定截止日之后批准，不参评、不排名，见「新建中心」"
            if zh
            else "listed that year but approved after the cut-off date: not graded, not ranked (New centers sheet)",
        ),
    ]
    return [{"item": item, "value": value} for item, value in rows]


def _summary(evaluation: YearEvaluation, lang: str) -> list[dict]:
    zh = lang == "zh"
    summary = evaluation.summary
    rows = [
        ("评价年度" if zh else "Year", evaluation.year),
        ("参评中心数" if zh else "Centers graded", summary["centers_graded"]),
        ("新建中心数（不参评）" if zh else "New centers (not graded)", summary["new_centers"]),
        ("平均分" if zh else "Average score", summary["average_score"]),
        *(
            (f"{row['grade']}数" if zh else row["grade_en"], row["centers"])
            for row in evaluation.grade_counts
            if row["centers"]
        ),
        ("未报送年报" if zh else "Missing reports", summary["missing_reports"]),
        ("核验差异" if zh else "Verification gaps", summary["verification_gaps"]),
        ("限期整改" if zh else "Rectification within a deadline", summary["rectifications"]),
        ("建议撤销" if zh else "Recommended for removal", summary["removal_recommendations"]),
        ("撤销后仍在名单" if zh else "Listed after removal", summary["listed_after_removal"]),
        ("建设期届满中心数" if zh else "Build periods ending", summary["build_periods_ending"]),
        ("综合评价保留" if zh else "Retained", summary["retained"]),
        ("综合评价不予纳入" if zh else "Not taken into the system", summary["not_admitted"]),
    ]
    return [{"item": item, "value": value} for item, value in rows]


def tables(evaluation: YearEvaluation, lang: str = "zh") -> dict[str, tuple[str, list[str], list[list]]]:
    """Sheet key -> (sheet name, headers, rows of values in ``lang``, neutralised)."""
    if lang not in ("zh", "en"):
        raise TTWError(f"--lang {lang!r}: expected zh or en")
    sources = {
        "about": _about(evaluation, lang),
        "comprehensive": evaluation.comprehensive,
        "summary": _summary(evaluation, lang),
        "ranking": evaluation.centers,
        "indicators": evaluation.indicators,
        "flags": evaluation.flagged,
        "new_centers": evaluation.new_centers,
    }
    indicators_en = {row["indicator_name"]: row["indicator_name_en"] for row in evaluation.indicators}
    result = {}
    for key, (name_zh, name_en, columns) in SHEETS.items():
        specs = [COLUMNS[c] for c in columns]
        headers = [spec.zh if lang == "zh" else spec.en for spec in specs]
        rows = [
            [cell(spec, c, row, lang, indicators_en) for spec, c in zip(specs, columns, strict=True)]
            for row in sources[key]
        ]
        result[key] = (name_zh if lang == "zh" else name_en, headers, rows)
    return result


def write_xlsx(evaluation: YearEvaluation, path: Path, lang: str = "zh") -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    marked = PatternFill("solid", fgColor="FFF4CE")
    for key, (name, headers, rows) in tables(evaluation, lang).items():
        columns = SHEETS[key][2]
        sheet = workbook.create_sheet(name)
        sheet.append(headers)
        for header in sheet[1]:
            header.font = bold
        for row in rows:
            sheet.append(row)
        for index, column in enumerate(columns, start=1):
            letter = sheet.cell(1, index).column_letter
            if COLUMNS[column].kind == "score":
                for (value,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    value.number_format = "0.00"
            width = max(
                len(str(v)) * (2 if lang == "zh" else 1)
                for v in [headers[index - 1], *(r[index - 1] for r in rows[:50])]
            )
            sheet.column_dimensions[letter].width = min(60, max(10, width + 2))
        if key == "ranking":  # a center with a verification gap: its row shaded, the mark beside its rank
            for number, row in enumerate(rows, start=2):
                if row[columns.index("verification_mark")]:
                    for value in sheet[number]:
                        value.fill = marked
        sheet.freeze_panes = "A2"
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
