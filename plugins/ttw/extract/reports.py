"""Center rosters and annual report workbooks (docs/sources.md).

Workbooks are read by label, never by fixed cell position: the 基本信息 sheet is a list of
label/value rows wherever they sit, the 运行数据 table is found by its header row (指标 /
单位 / 本年数值, in any columns), and 重大成果 by its header labels. Blank rows, merged title
cells and numbers stored as text are all fine; every value keeps the cell it came from.
Merged cells read as a person reads them: a label merged over A:B has its value in C, and
a cell merged down over several rows holds its value in each of them (a row holding nothing
but such values continues the row above, it is not a row of its own). The file name says
which center and year the report is (``年度报告_{中心编号}_{报告年度}``); cells saying
otherwise make the workbook an error, so it replaces nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ttw.errors import TTWError
from ttw.extract.registry import NUL, cell_text
from ttw.extract.workbook import NUL_REASON, Book, cell_name, check_sheet, open_workbook, sheet_rows
from ttw.sources import CENTER_REPORTS, CENTER_ROSTER

ROSTER_COLUMNS = CENTER_ROSTER.table.columns
BASIC_LABELS = ("中心编号", "中心名称", "依托单位", "依托单位统一社会信用代码", "所在区市", "产业领域", "报告年度")
INDICATOR_HEADER = ("指标", "单位", "本年数值")
ACHIEVEMENT_HEADER = ("成果名称", "成果类型", "完成时间", "简要说明")
SHEETS = ("基本信息", "运行数据", "重大成果", "问题与计划")
PATTERNS: tuple[str, ...] = CENTER_REPORTS.landing.patterns
NAME = re.compile(r"^年度报告_(?P<center>.+)_(?P<year>\d{4})$")  # the file name's stem
# rows holding a value, per sheet: a real report has a few dozen; more is not a report
MAX_REPORT_ROWS = 2_000
MAX_REPORT_VALUES = 20_000  # cells holding a value, per sheet
MAX_REPORT_CELLS = 1_000_000  # cells a report sheet may span (highest row x highest column), checked before it is read
# a 报告年度 cell: the year itself, or with 年 / 年度 after it
YEAR = re.compile(r"(?P<year>\d{4})(?:年度?)?")
UNSAVED = "holds a formula with no saved value: open and save it in Excel or WPS"


@dataclass
class Report:
    """What one workbook holds, each value with its cell (``sheet!A1``)."""

    path: Path
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, cell
    indicators: list[tuple[str, str, str, str]] = field(default_factory=list)  # indicator, unit, value, cell
    achievements: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # name, type, done, note, cell
    plans: list[tuple[str, str]] = field(default_factory=list)  # text, cell
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # rule, reason, sheet
    # values the workbook holds that cannot be taken: rule, reason, cell, sheet row
    rejected: list[tuple[str, str, str, int]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.fields) + len(self.indicators) + len(self.achievements) + len(self.plans)


@dataclass
class _Row:
    """One sheet row holding a value: its texts from column A, and where merged cells end."""

    number: int
    texts: list[str]
    span_end: dict[int, int]  # column of a horizontally merged cell -> its last column


def _rows(book: Book, name: str, bad: dict[str, tuple[str, str, str, int]]) -> list[_Row]:
    """The rows of sheet ``name`` holding a value, merged cells read as a person reads them.

    A cell whose value cannot be taken (a formula never saved, an error value, a NUL) reads
    as empty and is added to ``bad`` (sheet cell -> rejected value).
    """
    for marked in check_sheet(book, name, MAX_REPORT_CELLS):
        where = f"{name}!{marked.cell}"
        if marked.error is None:
            bad[where] = ("formula_without_value", f"cell {where} {UNSAVED}", where, marked.row)
        else:
            bad[where] = ("error_value", f"cell {where} holds the error {marked.error}", where, marked.row)
    sheet = book.sheet(name)
    grid: dict[int, list[str]] = {}
    values = 0
    for number, cells in sheet_rows(book, sheet):
        texts = [cell_text(v).strip() for v in cells]
        for col, text in enumerate(texts):
            if NUL in text:
                where = f"{name}!{cell_name(number, col)}"
                bad[where] = ("nul_byte", f"cell {where} {NUL_REASON}", where, number)
                texts[col] = ""
        if any(texts):
            grid[number] = texts
            values += sum(1 for text in texts if text)
            if len(grid) > MAX_REPORT_ROWS:
                raise TTWError(
                    f"{book.path}: sheet {name} holds more than the {MAX_REPORT_ROWS:,} rows a report sheet"
                    " may hold: not an annual report",
                    rule="too_many_rows",
                )
            if values > MAX_REPORT_VALUES:
                raise TTWError(
                    f"{book.path}: sheet {name} holds more than the {MAX_REPORT_VALUES:,} values a report sheet"
                    " may hold: not an annual report",
                    rule="too_many_cells",
                )
    spans: dict[int, dict[int, int]] = {}
    filled: dict[int, set[int]] = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        top, bottom = top + 1, bottom + 1  # calamine counts rows from 0, sheet rows from 1
        value = grid.get(top, [])[left] if left < len(grid.get(top, [])) else ""
        if right > left:
            spans.setdefault(top, {})[left] = right
        for number in range(top + 1, bottom + 1):
            if value:
                texts = grid.setdefault(number, [])
                texts.extend([""] * (left + 1 - len(texts)))
                texts[left] = value
                filled.setdefault(number, set()).add(left)
            if right > left:
                spans.setdefault(number, {})[left] = right
    return [
        _Row(number, texts, spans.get(number, {}))
        for number, texts in sorted(grid.items())
        # a row of merged-down values only continues the row above
        if any(text for col, text in enumerate(texts) if col not in filled.get(number, ()))
    ]


def _find_header(rows: list[_Row], labels: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """(row number, label -> column index) of the first row holding every label."""
    for row in rows:
        if all(label in row.texts for label in labels):
            return row.number, {label: row.texts.index(label) for label in labels}
    return None


def read_report(path: Path) -> Report:
    """Read one annual report workbook; a missing sheet is a problem, not a failure.

    A workbook whose file name does not say its center and year, or whose cells say another
    center or year, is an error: nothing of it is loaded.
    """
    named = NAME.match(path.stem)
    if named is None:
        raise TTWError(
            f"{path}: a report's file name says its center and year (年度报告_{{中心编号}}_{{报告年度}},"
            " such as 年度报告_C202400001_2024.xlsx)",
            rule="misnamed_report",
        )
    book = open_workbook(path)
    report = Report(path)
    try:
        _read_sheets(book, report)
    finally:
        book.close()
    _check_identity(path, report, named["center"], named["year"])
    return report


def _check_identity(path: Path, report: Report, center: str, year: str) -> None:
    """Refuse a report whose 中心编号 or 报告年度 cell disagrees with its file name."""
    for label, value, cell in report.fields:
        if label == "中心编号" and value != center:
            expected = center
        elif label == "报告年度" and (YEAR.fullmatch(value) or {"year": None})["year"] != year:
            expected = year
        else:
            continue
        raise TTWError(
            f"{path}: cell {cell} says {label} {value!r}, the file name says {expected}:"
            " a report whose cells disagree with its name is not loaded",
            rule="report_identity_mismatch",
        )


def _value_cell(sheet: str, row: _Row, col: int, bad: dict) -> tuple[str, str, bool]:
    """(text, cell, rejected) of the value in column ``col`` of ``row``: a value rejected at
    its cell (a formula never saved, an error value, a NUL) is not an empty value."""
    cell = f"{sheet}!{cell_name(row.number, col)}"
    text = row.texts[col] if col < len(row.texts) else ""
    return text, cell, cell in bad


def _label(text: str) -> str:
    """A 基本信息 label as the list names it: a colon after it (``中心编号：``) left out."""
    return text.rstrip(":：").strip()


def _read_sheets(book: Book, report: Report) -> None:
    names = [name for name, _ in book.sheets]
    for name in SHEETS:
        if name not in names:
            report.problems.append(("missing_sheet", f"sheet {name} is missing (expected {', '.join(SHEETS)})", name))
    bad: dict[str, tuple[str, str, str, int]] = {}
    if "基本信息" in names:
        for row in _rows(book, "基本信息", bad):
            for col, text in enumerate(row.texts[:-1]):
                if _label(text) in BASIC_LABELS:
                    value, cell, rejected = _value_cell("基本信息", row, row.span_end.get(col, col) + 1, bad)
                    if not rejected:
                        report.fields.append((_label(text), value, cell))
                    break
    if "运行数据" in names:
        _read_indicators(book, report, bad)
    if "重大成果" in names:
        rows = _rows(book, "重大成果", bad)
        found = _find_header(rows, ACHIEVEMENT_HEADER)
        if found is not None:
            header_row, cols = found
            for row in rows:
                if row.number > header_row:
                    texts = row.texts + [""] * (max(cols.values()) + 1 - len(row.texts))
                    values = [texts[cols[label]] for label in ACHIEVEMENT_HEADER]
                    report.achievements.append((*values, f"重大成果!A{row.number}"))
    if "问题与计划" in names:
        for row in _rows(book, "问题与计划", bad):
            for col, text in enumerate(row.texts):
                if text:
                    report.plans.append((text, f"问题与计划!{cell_name(row.number, col)}"))
    report.rejected.extend(bad.values())


def _read_indicators(book: Book, report: Report, bad: dict) -> None:
    """The 运行数据 table under its header row; a value with no 指标 label is rejected by cell."""
    rows = _rows(book, "运行数据", bad)
    found = _find_header(rows, INDICATOR_HEADER)
    if found is None:
        report.problems.append(("missing_header", "sheet 运行数据 has no row 指标 | 单位 | 本年数值", "运行数据"))
        return
    header_row, cols = found
    for row in rows:
        if row.number <= header_row:
            continue
        texts = row.texts + [""] * (max(cols.values()) + 1 - len(row.texts))
        indicator, unit = texts[cols["指标"]], texts[cols["单位"]]
        value, cell, rejected = _value_cell("运行数据", row, cols["本年数值"], bad)
        if rejected:
            continue
        if indicator:
            report.indicators.append((indicator, unit, value, cell))
        elif value:
            reason = f"cell {cell} holds {value} but its row has no 指标 label"
            report.rejected.append(("unlabelled_value", reason, cell, row.number))
