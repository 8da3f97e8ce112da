"""Center rosters and annual report workbooks (DESIGN §5.1 roster, §5.3 workbook).

Workbooks are read by label, never by fixed cell position: the 基本信息 sheet is a list of
label/value rows wherever they sit, the 运行数据 table is found by its header row (指标 /
单位 / 本年数值, in any columns), and 重大成果 by its header labels. Blank rows, merged title
cells and numbers stored as text are all fine; every value keeps the cell it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils import get_column_letter

from ttw.extract.registry import cell_text
from ttw.extract.workbook import open_workbook, reading

ROSTER_COLUMNS = (
    "center_code",
    "center_name",
    "host_org_name",
    "host_credit_code",
    "district_code",
    "industry",
    "batch",
    "approved_on",
    "build_start",
    "build_end",
    "status",
)
BASIC_LABELS = ("中心编号", "中心名称", "依托单位", "依托单位统一社会信用代码", "所在区市", "产业领域", "报告年度")
INDICATOR_HEADER = ("指标", "单位", "本年数值")
ACHIEVEMENT_HEADER = ("成果名称", "成果类型", "完成时间", "简要说明")
SHEETS = ("基本信息", "运行数据", "重大成果", "问题与计划")


@dataclass
class Report:
    """What one workbook holds, each value with its cell (``sheet!A1``)."""

    path: Path
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, cell
    indicators: list[tuple[str, str, str, str]] = field(default_factory=list)  # indicator, unit, value, cell
    achievements: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # name, type, done, note, cell
    plans: list[tuple[str, str]] = field(default_factory=list)  # text, cell
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # rule, reason, sheet

    @property
    def rows(self) -> int:
        return len(self.fields) + len(self.indicators) + len(self.achievements) + len(self.plans)


def _rows(sheet) -> list[tuple[int, list[str]]]:
    return [
        (number, [cell_text(v).strip() for v in values])
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        if any(cell_text(v).strip() for v in values)
    ]


def _find_header(rows: list[tuple[int, list[str]]], labels: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """(row number, label -> column index) of the first row holding every label."""
    for number, texts in rows:
        if all(label in texts for label in labels):
            return number, {label: texts.index(label) for label in labels}
    return None


def read_report(path: Path) -> Report:
    """Read one annual report workbook; a missing sheet is a problem, not a failure."""
    book = open_workbook(path)
    report = Report(path)
    try:
        with reading(path):
            _read_sheets(book, report)
    finally:
        book.close()
    return report


def _read_sheets(book, report: Report) -> None:
    for name in SHEETS:
        if name not in book.sheetnames:
            report.problems.append(("missing_sheet", f"sheet {name} is missing (expected {', '.join(SHEETS)})", name))
    if "基本信息" in book.sheetnames:
        for number, texts in _rows(book["基本信息"]):
            for col, text in enumerate(texts[:-1]):
                if text in BASIC_LABELS:
                    report.fields.append((text, texts[col + 1], f"基本信息!{get_column_letter(col + 2)}{number}"))
                    break
    if "运行数据" in book.sheetnames:
        rows = _rows(book["运行数据"])
        found = _find_header(rows, INDICATOR_HEADER)
        if found is None:
            report.problems.append(("missing_header", "sheet 运行数据 has no row 指标 | 单位 | 本年数值", "运行数据"))
        else:
            header_row, cols = found
            for number, texts in rows:
                if number <= header_row:
                    continue
                texts = texts + [""] * (max(cols.values()) + 1 - len(texts))
                indicator = texts[cols["指标"]]
                if indicator:
                    cell = f"运行数据!{get_column_letter(cols['本年数值'] + 1)}{number}"
                    report.indicators.append((indicator, texts[cols["单位"]], texts[cols["本年数值"]], cell))
    if "重大成果" in book.sheetnames:
        rows = _rows(book["重大成果"])
        found = _find_header(rows, ACHIEVEMENT_HEADER)
        if found is not None:
            header_row, cols = found
            for number, texts in rows:
                if number > header_row:
                    texts = texts + [""] * (max(cols.values()) + 1 - len(texts))
                    values = [texts[cols[label]] for label in ACHIEVEMENT_HEADER]
                    report.achievements.append((*values, f"重大成果!A{number}"))
    if "问题与计划" in book.sheetnames:
        for number, texts in _rows(book["问题与计划"]):
            for col, text in enumerate(texts):
                if text:
                    report.plans.append((text, f"问题与计划!{get_column_letter(col + 1)}{number}"))
