"""Exports neutralise what a spreadsheet would run as a formula and keep numbers numbers; each file
speaks one language; the year report and center pages show what an evaluator needs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from ttw.errors import TTWError
from ttw.evaluation.data import Provenance, YearEvaluation
from ttw.evaluation.html import write_report, year_page
from ttw.evaluation.tables import COLUMNS, SHEETS, neutralise, tables, write_xlsx


@pytest.mark.parametrize("text", ["=1+1", "+86 532 1234", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"])
def test_text_a_spreadsheet_would_evaluate_is_prefixed(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("青岛市新材料技术创新中心", "青岛市新材料技术创新中心"), (Decimal("-12.50"), -12.5), (3, 3), (None, None)],
)
def test_other_values_pass_unchanged_and_decimals_become_numbers(value, expected):
    assert neutralise(value) == expected


def test_dates_stay_dates():
    assert neutralise(dt.date(2024, 6, 30)) == dt.date(2024, 6, 30)


# --- one language per file, on a year built in memory ------------------------------------

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
CODES = {"inputs", "outputs", "transfer", "sharing", "construction", "reported", "verified", "lower"}
CODES |= {"benchmark", "target", "min_max", "percent_rank", "none", "rectification", "removal_recommended"}
CODES |= {"retained", "not_admitted", "True", "False"}
# proper names, and where a figure is in the workbook as delivered (its file and sheet names)
NAMES = ("center_name", "host_org_name", "report_file", "report_cell")  # proper names; districts have English names


def _center(code: str, rank: int, total: str, grade: str, grade_en: str, **extra) -> dict:
    row = {
        "center_code": code,
        "evaluation_year": 2024,
        "center_name": f"青岛市新材料技术创新中心({code})",
        "host_org_name": f"青岛{code}科技有限公司",
        "host_credit_code": "91370200MA3C000000",
        "district_code": "370212",
        "district_name": "崂山区",
        "district_name_en": "Laoshan District",
        "industry": "新材料",
        "industry_en": "New materials",
        "status": "运行期",
        "status_en": "Operating",
        "build_start": dt.date(2022, 1, 1),
        "build_end": dt.date(2024, 12, 31),
        "approved_on": dt.date(2021, 12, 1),
        "is_in_build_period": True,
        "scheme_version": "2021",
        "total_score": Decimal(total),
        "grade": grade,
        "grade_en": grade_en,
        "grade_order": {"优秀": 1, "良好": 2, "合格": 3, "不合格": 4}[grade],
        "overall_rank": rank,
        "industry_rank": rank,
        "previous_total_score": Decimal("70.5"),
        "score_change": Decimal(total) - Decimal("70.5"),
        "previous_grade": "合格",
        "previous_grade_en": "Qualified",
        "is_missing_report": False,
        "has_verification_gap": False,
        "verification_gap_count": 0,
        "annual_outcome": "none",
        "annual_outcome_zh": "无",
        "annual_outcome_en": "None",
        "stays_in_system": True,
        "needs_rectification": False,
        "is_recommended_for_removal": False,
        "is_listed_after_removal": False,
        "removed_in_year": None,
        "has_dropped_indicators": False,
        "dropped_indicators": None,
    }
    return {**row, **extra}


def _indicator(code: str, **extra) -> dict:
    row = {
        "center_code": code,
        "center_name": f"青岛市新材料技术创新中心({code})",
        "evaluation_year": 2024,
        "scheme_version": "2021",
        "indicator_code": "local_transfer_amount",
        "indicator_name": "本地转化金额",
        "indicator_name_en": "Local transfer amount",
        "category": "transfer",
        "category_zh": "转化",
        "category_en": "Transfer",
        "unit": "万元",
        "unit_en": "10k yuan",
        "reported_value": Decimal("120.5"),
        "registry_verified_value": Decimal("80"),
        "verification_gap": Decimal("40.5"),
        "has_verification_gap": True,
        "value_basis": "lower",
        "value_basis_zh": "取较低值",
        "value_basis_en": "Lower of reported and registry",
        "scored_value": Decimal("80"),
        "normalization": "benchmark",
        "normalization_zh": "基准法",
        "normalization_en": "Benchmark",
        "benchmark_percentile": Decimal("0.6"),
        "target_value": None,
        "benchmark_value": Decimal("100"),
        "normalized_score": Decimal("80"),
        "weight": Decimal("12"),
        "contribution": Decimal("9.6"),
        "report_file": "report_C1_2024.xlsx",
        "report_cell": "运行数据!C7",
        "value_note_zh": None,
        "value_note_en": None,
        "overall_rank": 1,
    }
    return {**row, **extra}


@pytest.fixture
def year() -> YearEvaluation:
    evaluation = YearEvaluation(2024)
    evaluation.centers = [
        _center("C1", 1, "100.00", "优秀", "Excellent"),
        _center("C2", 1, "100.00", "优秀", "Excellent", has_verification_gap=True, verification_gap_count=1),
        _center("C3", 3, "85.25", "良好", "Good"),
        _center(
            "C4",
            4,
            "41.10",
            "不合格",
            "Unqualified",
            annual_outcome="removal_recommended",
            annual_outcome_zh="建议撤销",
            annual_outcome_en="Recommended for removal",
            stays_in_system=False,
            is_recommended_for_removal=True,
            is_listed_after_removal=True,
            removed_in_year=2022,
            has_dropped_indicators=True,
            dropped_indicators="本地转化金额",
        ),
    ]
    evaluation.indicators = [_indicator(c["center_code"]) for c in evaluation.centers]
    # what the marts rpt_center_flags, rpt_center_evaluation_summary and rpt_center_grade_counts hold
    evaluation.flagged = [evaluation.centers[1], evaluation.centers[3]]
    evaluation.summary = {
        "evaluation_year": 2024,
        "scheme_version": "2021",
        "centers_graded": 4,
        "new_centers": 1,
        "average_score": Decimal("81.59"),
        "missing_reports": 0,
        "verification_gaps": 1,
        "rectifications": 0,
        "removal_recommendations": 1,
        "listed_after_removal": 1,
        "flagged_centers": 2,
        "build_periods_ending": 1,
        "retained": 1,
        "not_admitted": 0,
    }
    grades = (
        ("优秀", "Excellent", 90, 2),
        ("良好", "Good", 80, 1),
        ("合格", "Qualified", 60, 0),
        ("不合格", "Unqualified", 0, 1),
    )
    evaluation.grade_counts = [
        {
            "evaluation_year": 2024,
            "scheme_version": "2021",
            "grade": grade,
            "grade_en": grade_en,
            "grade_order": order,
            "min_score": Decimal(min_score),
            "centers": centers,
        }
        for order, (grade, grade_en, min_score, centers) in enumerate(grades, start=1)
    ]
    evaluation.history = [
        {
            k: c[k]
            for k in (
                "center_code",
                "evaluation_year",
                "total_score",
                "grade",
                "grade_en",
                "grade_order",
                "overall_rank",
            )
        }
        | {"annual_outcome_zh": c["annual_outcome_zh"]}
        for c in evaluation.centers
    ]
    evaluation.comprehensive = [
        {
            "center_code": "C3",
            "center_name": "青岛市新材料技术创新中心(C3)",
            "district_code": "370212",
            "district_name": "崂山区",
            "district_name_en": "Laoshan District",
            "industry": "新材料",
            "industry_en": "New materials",
            "build_start": dt.date(2022, 1, 1),
            "build_end": dt.date(2024, 12, 31),
            "evaluation_year": 2024,
            "years_evaluated": 3,
            "annual_grades": "2022:不合格, 2023:良好, 2024:良好",
            "annual_grades_en": "2022: Unqualified, 2023: Good, 2024: Good",
            "combined_score": Decimal("70.33"),
            "lowest_annual_score": Decimal("55.00"),
            "combined_grade": "合格",
            "combined_grade_en": "Qualified",
            "unqualified_years": 1,
            "outcome": "retained",
            "outcome_zh": "保留",
            "outcome_en": "Retained",
            "stays_in_system": True,
        }
    ]
    evaluation.new_centers = [
        {
            "center_code": "C9",
            "evaluation_year": 2024,
            "center_name": "青岛市海洋经济技术创新中心(C9)",
            "host_org_name": "青岛C9海洋有限公司",
            "district_code": "370211",
            "district_name": "黄岛区",
            "district_name_en": "Huangdao District",
            "industry": "海洋经济",
            "industry_en": "Marine economy",
            "approved_on": dt.date(2024, 9, 1),
            "build_start": dt.date(2024, 9, 1),
            "build_end": dt.date(2027, 8, 31),
            "cutoff_date": dt.date(2024, 6, 30),
            "status_zh": "新建",
            "status_en": "New (not graded)",
        }
    ]
    cell = {"report_file": "年度报告_C3_2024.xlsx"}
    evaluation.narrative = {
        "achievements": {
            "C3": [
                {"item_order": 1, "achievement_name": "海水淡化膜", "achievement_type": "新产品"}
                | {"completed_period": "2024年6月", "note": None, "source_cell": "重大成果!B3"}
            ]
        },
        "plans": {"C3": [{"item_order": 1, "plan_text": "下一年度计划：扩建中试线", "source_cell": "问题与计划!A2"}]},
        "sharing": {
            "C3": [
                cell
                | {"large_instruments": 0, "effective_machine_hours": None, "shared_machine_hours": None}
                | {"sharing_rate_pct": None, "note_zh": "未报告大型仪器，不计算共享率", "large_instruments_cell": None}
            ]
        },
        "changes": {
            "C3": [
                {
                    "indicator_name": "研发人员数",
                    "unit": "人",
                    "previous_value": Decimal(40),
                    "current_value": Decimal(45),
                }
                | {"change": Decimal(5), "change_type": "changed", "previous_cell": "运行数据!C5"}
                | {"current_cell": "运行数据!C5", "current_version_number": 2, "previous_version_number": 1}
                | {"current_file": "年度报告_C3_2024_v2.xlsx"}
            ]
        },
    }
    evaluation.provenance = Provenance(
        build_id="b-42", published_at=dt.datetime(2025, 3, 2, 9, 0), as_of=dt.datetime(2025, 3, 1, 18, 30)
    )
    return evaluation


def _name_columns(headers: list[str], lang: str) -> set[int]:
    names = {COLUMNS[c].zh if lang == "zh" else COLUMNS[c].en for c in NAMES}
    return {i for i, h in enumerate(headers) if h in names}


def test_the_chinese_file_has_no_english_codes_and_yes_no_in_chinese(year):
    sheets = tables(year, "zh")
    for name, headers, rows in sheets.values():
        assert CJK.search(name)
        assert all(CJK.search(h) for h in headers), headers
        for row in rows:
            assert not [v for v in row if isinstance(v, bool)], name
            assert not [v for v in row if isinstance(v, str) and v in CODES], (name, row)
    _, headers, rows = sheets["indicators"]
    row = dict(zip(headers, rows[0], strict=True))
    assert (row["类别"], row["取值依据"], row["计分方法"], row["单位"]) == ("转化", "取较低值", "基准法", "万元")
    assert (row["核验差异"], row["基准分位"], row["年报文件"], row["单元格"]) == (
        "是",
        0.6,
        "report_C1_2024.xlsx",
        "运行数据!C7",
    )
    _, headers, rows = sheets["ranking"]
    ranking = [dict(zip(headers, r, strict=True)) for r in rows]
    assert [r["核验标记"] for r in ranking] == [None, "⚠ 核验差异", None, None]
    assert [r["排名"] for r in ranking] == [1, 1, 3, 4]  # a tie shares its rank
    assert (ranking[3]["年度结论"], ranking[3]["撤销后仍在名单"], ranking[3]["撤销决定年度"]) == (
        "建议撤销",
        "是",
        2022,
    )
    _, headers, rows = sheets["new_centers"]
    assert [dict(zip(headers, r, strict=True))["状态"] for r in rows] == ["新建"]
    assert [c for c in sheets["ranking"][2] if c[2] == "C9"] == []  # a new center is not ranked
    about = dict(sheets["about"][2])
    assert (about["构建编号"], about["数据截至"], about["评价方案版本"]) == ("b-42", "2025-03-01 18:30:00", "2021")


def test_the_english_file_has_no_chinese_but_proper_names(year):
    for name, headers, rows in tables(year, "en").values():
        assert not CJK.search(name)
        assert not [h for h in headers if CJK.search(h)], headers
        names = _name_columns(headers, "en")
        for row in rows:
            assert not [v for i, v in enumerate(row) if i not in names and CJK.search(str(v))], (name, row)
            assert not [v for v in row if isinstance(v, bool)]
    _, headers, rows = tables(year, "en")["comprehensive"]
    row = dict(zip(headers, rows[0], strict=True))
    assert (row["Outcome"], row["Combined grade"], row["Stays in the system"]) == ("Retained", "Qualified", "Yes")
    assert row["Annual grades"] == "2022: Unqualified, 2023: Good, 2024: Good"
    assert row["Center name"] == "青岛市新材料技术创新中心(C3)"  # a proper name stays as it is
    _, headers, rows = tables(year, "en")["flags"]
    assert [dict(zip(headers, r, strict=True))["Indicators a re-delivery dropped"] for r in rows] == [
        None,
        "Local transfer amount",
    ]
    _, headers, rows = tables(year, "en")["ranking"]
    assert [dict(zip(headers, r, strict=True))["Verification"] for r in rows][:2] == [None, "⚠ Verification gap"]


def test_workbooks_are_written_in_one_language_each_with_scores_to_two_decimals(year, tmp_path):
    zh = load_workbook(write_xlsx(year, tmp_path / "zh.xlsx", "zh"))
    en = load_workbook(write_xlsx(year, tmp_path / "en.xlsx", "en"))
    assert zh.sheetnames == [v[0] for v in SHEETS.values()]
    assert en.sheetnames == [v[1] for v in SHEETS.values()]
    assert zh.sheetnames[:2] == ["说明", "综合评价"]
    ranking = zh["排名"]
    assert ranking["I1"].value == "总分"
    assert ranking["I2"].number_format == "0.00"
    assert ranking["B3"].value == "⚠ 核验差异"
    assert ranking["A3"].fill.fgColor.rgb.endswith("FFF4CE")  # the row of a center with a gap is shaded


def test_year_report_starts_with_the_comprehensive_evaluation_and_shows_ties_as_ties(year):
    html = year_page(year)
    assert html.index("建设期届满综合评价") < html.index("年度评价概况") < html.index("附录：预警明细")
    assert "2 个中心并列第 1 名" in html
    assert "2 个中心 · 100.00" in html  # one bar for the tied centers
    assert html.count('data-chart="top-centers"') == 1
    top = re.search(r'data-chart="top-centers".*?</svg>', html, re.S).group(0)
    assert len(re.findall("<rect ", top)) == 3  # ranks 1 (two centers), 3, 4
    assert "数据截至 2025-03-01 18:30:00" in html
    assert "构建编号 b-42" in html
    assert "@page { size: A4" in html
    assert "break-inside: avoid" in html
    assert "display: table-header-group" in html
    assert 'href="centers/C4.html"' in html
    assert "⚠ 2022 年已撤销，仍在名单" in html
    assert "新建" in html
    assert "C9" in html
    assert "保留" in html


def test_the_method_states_the_grades_the_seed_gives(year):
    """The grade thresholds the report states are grade_thresholds' (through
    rpt_center_grade_counts), not a sentence of their own."""
    assert "等级：优秀 ≥ 90，良好 ≥ 80，合格 ≥ 60，不合格 &lt; 60。" in year_page(year)
    year.grade_counts[0]["min_score"] = Decimal("92.50")  # as numeric(6,2) holds it
    year.grade_counts[2]["min_score"] = Decimal("65.00")
    assert "等级：优秀 ≥ 92.5，良好 ≥ 80，合格 ≥ 65，不合格 &lt; 65。" in year_page(year)
    # two scheme versions in one year: each its own rule, in version order (9 before 10)
    for row in year.grade_counts:
        row["scheme_version"] = "10"
    year.grade_counts += [
        {**year.grade_counts[0], "scheme_version": "9", "grade": "A", "min_score": Decimal("50.00"), "grade_order": 1},
        {**year.grade_counts[0], "scheme_version": "9", "grade": "B", "min_score": Decimal("0.00"), "grade_order": 2},
    ]
    assert "等级：9 版 A ≥ 50，B &lt; 50\uff1b10 版 优秀 ≥ 92.5，" in year_page(year)


def test_a_page_for_every_graded_center_written_in_one_pass(year, tmp_path):
    written = write_report(year, tmp_path)
    assert [p.name for p in written] == ["centers_2024.html", "C1.html", "C2.html", "C3.html", "C4.html"]
    page = (tmp_path / "centers" / "C3.html").read_text(encoding="utf-8")
    assert "建设期届满综合评价" in page
    assert "保留" in page
    assert "⚠ 40.50" in page  # the verification gap, marked
    assert "80.00" in page
    assert "100（P60）" in page
    assert "report_C1_2024.xlsx 运行数据!C7" in page
    assert "未报告大型仪器，不计算共享率" in page
    assert "海水淡化膜" in page
    assert "下一年度计划：扩建中试线" in page
    assert re.search(r"<td>研发人员数</td><td>人</td><td class=\"num\">40</td><td class=\"num\">45</td>", page)
    assert "第 2 版" in page
    assert "数据截至 2025-03-01 18:30:00" in page
    only = write_report(year, tmp_path / "two", ["C2", "C4"])
    assert [p.name for p in only] == ["centers_2024.html", "C2.html", "C4.html"]
    with pytest.raises(TTWError, match="C7"):
        write_report(year, tmp_path / "bad", ["C7"])


def test_a_frozen_year_says_so_in_the_workbook_and_on_every_page(year):
    year.provenance.frozen = True
    assert dict(tables(year, "zh")["about"][2])["结果已冻结"] == "是"
    assert dict(tables(year, "en")["about"][2])["Results frozen"] == "Yes"
    assert "结果已冻结" in year_page(year)
