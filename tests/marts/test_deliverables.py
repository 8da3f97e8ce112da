"""The evaluator deliverables of a year written from a real build, read back: both workbooks
(each in one language, values matching the marts), the CSV files, the year report with the
comprehensive evaluation first, a page per graded center, the PDF (pdfinfo, pdftotext) and
screenshots of the report and of a center page drawn by headless Chromium."""

from __future__ import annotations

import re
import statistics
import struct
import subprocess
import time
import zlib
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from psycopg.rows import dict_row

from ttw.build import build
from ttw.evaluation.data import load_year
from ttw.evaluation.deliver import deliver
from ttw.evaluation.pdf import screenshot
from ttw.evaluation.tables import SHEETS
from ttw.publish import last_published_build, publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
ZH_FORBIDDEN = {"inputs", "outputs", "transfer", "sharing", "construction", "reported", "verified", "lower"}
ZH_FORBIDDEN |= {"benchmark", "target", "none", "rectification", "removal_recommended", "retained", "not_admitted"}
ZH_FORBIDDEN |= {"True", "False", "TRUE", "FALSE"}
# proper names, and where a figure is in the workbook as delivered: they stay as they are
PROPER_EN = {"Center name", "Host organization", "District", "Report file", "Cell"}


@pytest.fixture(scope="module")
def delivered(target, settings, small_dataset, tmp_path_factory):
    """The small dataset built and published, and the newest graded year's deliverables written."""
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)
    with connect(target) as conn:
        year = conn.execute(
            "select max(evaluation_year) from marts.rpt_center_performance where not is_missing_report"
        ).fetchone()[0]
    folder = tmp_path_factory.mktemp("deliverables")
    started = time.perf_counter()
    written = deliver(target, year, folder).written
    seconds = time.perf_counter() - started
    print(f"deliver {year}: {len(written)} files in {seconds:.1f} s")
    return target, year, folder, written


def _rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def _marts(target, query: str, *args) -> list[dict]:
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, args).fetchall()


def test_the_chinese_workbook_is_chinese_and_matches_the_marts(delivered):
    target, year, folder, _ = delivered
    workbook = load_workbook(folder / f"centers_{year}.xlsx")
    assert workbook.sheetnames == [zh for zh, _, _ in SHEETS.values()]
    for sheet in workbook:
        for row in sheet.iter_rows(values_only=True):
            assert not [v for v in row if isinstance(v, bool)], sheet.title
            assert not [v for v in row if isinstance(v, str) and v in ZH_FORBIDDEN], (sheet.title, row)

    performance = _marts(
        target,
        "select * from marts.rpt_center_performance where evaluation_year = %s order by overall_rank, center_code",
        year,
    )
    ranking = _rows(workbook["排名"])
    assert [(r["中心编号"], r["排名"], r["总分"], r["等级"]) for r in ranking] == [
        (p["center_code"], p["overall_rank"], float(p["total_score"]), p["grade"]) for p in performance
    ]
    assert [r["年度结论"] for r in ranking] == [p["annual_outcome_zh"] for p in performance]
    gaps = [r["中心编号"] for r in ranking if r["核验标记"] == "⚠ 核验差异"]
    assert gaps == [p["center_code"] for p in performance if p["has_verification_gap"]]
    assert gaps  # the sample has a center whose report the registry contradicts

    scores = _marts(
        target,
        "select s.* from marts.rpt_center_indicator_scores as s join marts.rpt_center_performance as p"
        " using (center_code, evaluation_year) where s.evaluation_year = %s"
        " order by p.overall_rank, s.center_code, s.category, s.indicator_code",
        year,
    )
    indicators = _rows(workbook["指标明细"])
    assert len(indicators) == len(scores)
    for row, mart in zip(indicators, scores, strict=True):
        assert (row["中心编号"], row["类别"], row["取值依据"], row["计分方法"], row["单位"]) == (
            mart["center_code"],
            mart["category_zh"],
            mart["value_basis_zh"],
            mart["normalization_zh"],
            mart["unit"],
        )
        assert row["加权得分"] == pytest.approx(float(mart["contribution"]), abs=0.005)
        assert row["年报文件"] == mart["report_file"]
        assert row["单元格"] == mart["report_cell"]
        assert row["核验差异"] == ("是" if mart["has_verification_gap"] else "否")

    comprehensive = _rows(workbook["综合评价"])
    marts = _marts(
        target,
        "select * from marts.rpt_center_comprehensive_evaluation where evaluation_year = %s"
        " order by combined_score desc, center_code",
        year,
    )
    assert [(r["中心编号"], r["综合得分"], r["综合评价结论"]) for r in comprehensive] == [
        (m["center_code"], float(m["combined_score"]), m["outcome_zh"]) for m in marts
    ]
    new = _marts(target, "select center_code from marts.rpt_center_new_centers where evaluation_year = %s", year)
    assert sorted(r["中心编号"] for r in _rows(workbook["新建中心"])) == sorted(n["center_code"] for n in new)
    assert not {n["center_code"] for n in new} & {r["中心编号"] for r in ranking}
    about = {r["项目"]: r["数值"] for r in _rows(workbook["说明"])}
    assert about["构建编号"] == last_published_build(target)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", about["数据截至"])


def test_the_english_workbook_has_no_chinese_but_proper_names(delivered):
    target, year, folder, _ = delivered
    workbook = load_workbook(folder / f"centers_{year}_en.xlsx")
    assert workbook.sheetnames == [en for _, en, _ in SHEETS.values()]
    for sheet in workbook:
        rows = list(sheet.iter_rows(values_only=True))
        headers = rows[0]
        assert not [h for h in headers if CJK.search(str(h))], sheet.title
        for row in rows[1:]:
            chinese = [
                (h, v) for h, v in zip(headers, row, strict=True) if h not in PROPER_EN and CJK.search(str(v or ""))
            ]
            assert not chinese, (sheet.title, chinese)
    ranking = _rows(workbook["Ranking"])
    assert {r["Grade"] for r in ranking} <= {"Excellent", "Good", "Qualified", "Unqualified"}
    assert {r["Annual outcome"] for r in ranking} <= {
        "None",
        "Rectification within a deadline",
        "Recommended for removal",
    }
    indicators = _rows(workbook["Indicators"])
    categories = _marts(
        target, "select distinct category_en from marts.rpt_center_indicator_scores where evaluation_year = %s", year
    )
    assert {r["Category"] for r in indicators} == {c["category_en"] for c in categories}
    assert "Inputs" in {r["Category"] for r in indicators}
    assert {r["Verification gap"] for r in indicators} == {"Yes", "No"}


def test_the_csv_files_are_the_chinese_sheets(delivered):
    _, year, folder, _ = delivered
    ranking = (folder / "csv" / f"centers_{year}_ranking.csv").read_text(encoding="utf-8-sig").splitlines()
    assert ranking[0].startswith("排名,核验标记,中心编号,中心名称")
    assert not re.search(r",(True|False)(,|$)", "\n".join(ranking))


def test_the_year_report_starts_with_the_comprehensive_evaluation_and_links_a_page_per_center(delivered):
    target, year, folder, written = delivered
    report = folder / "report" / f"centers_{year}.html"
    html = report.read_text(encoding="utf-8")
    assert html.index("建设期届满综合评价") < html.index("年度评价概况") < html.index("附录：预警明细")
    assert f"构建编号 {last_published_build(target)}" in html
    codes = [
        p["center_code"]
        for p in _marts(target, "select center_code from marts.rpt_center_performance where evaluation_year = %s", year)
    ]
    pages = sorted(p.stem for p in written if p.parent.name == "centers")
    assert pages == sorted(codes)  # every graded center, none else
    for code in codes:
        assert f'href="centers/{code}.html"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched: opens offline
    scores = re.findall(r'<td class="num">(\d+\.\d+)</td>', html)
    assert scores
    assert all(re.fullmatch(r"\d+\.\d\d", s) for s in scores)  # 2 decimals everywhere


def test_a_center_page_explains_its_score(delivered):
    target, year, folder, _ = delivered
    center = _marts(
        target,
        "select * from marts.rpt_center_performance where evaluation_year = %s and has_verification_gap"
        " order by overall_rank limit 1",
        year,
    )[0]
    page = (folder / "report" / "centers" / f"{center['center_code']}.html").read_text(encoding="utf-8")
    assert center["center_name"] in page
    assert f"{float(center['total_score']):.2f}" in page
    assert "⚠ 核验差异" in page
    for section in (
        "指标得分",
        "历年评价",
        "预警",
        "与上一版年报相比变化的数据",
        "重大成果",
        "问题与计划",
        "大型仪器开放共享",
    ):
        assert f">{section}<" in page, section
    indicators = _marts(
        target,
        "select indicator_name, normalized_score from marts.rpt_center_indicator_scores"
        " where center_code = %s and evaluation_year = %s",
        center["center_code"],
        year,
    )
    for row in indicators:
        assert f"<td>{row['indicator_name']}</td>" in page


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (enough to tell a blank page)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, width, height = 8, b"", 0, 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return width, height, zlib.decompress(idat)


def test_report_and_center_page_render_to_png_that_are_not_blank(delivered, tmp_path):
    _, year, folder, written = delivered
    center_page = next(p for p in written if p.parent.name == "centers")
    for page, height in ((folder / "report" / f"centers_{year}.html", 3000), (center_page, 2200)):
        shot = screenshot(page, tmp_path / f"{page.stem}.png", width=1000, height=height)
        width, tall, pixels = _png_pixels(shot)
        assert (width, tall) == (1000, height)
        sample = pixels[:: max(1, len(pixels) // 200_000)]
        assert statistics.pstdev(sample) > 20, page  # text and charts, not a blank page
        assert len(set(sample)) > 64, page


def test_the_pdf_of_the_year_report_has_its_pages_and_text(delivered):
    target, year, folder, _ = delivered
    pdf = folder / "report" / f"centers_{year}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages >= 6  # a page per section at least
    assert re.search(r"^Page size:.*\(A4\)", info, re.M)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert f"{year} 年度技术创新中心绩效评价报告" in text
    assert "建设期届满综合评价" in text
    first = _marts(
        target,
        "select center_name from marts.rpt_center_performance where evaluation_year = %s and overall_rank = 1",
        year,
    )[0]["center_name"]
    assert first[:8] in text.replace("\n", "")


def test_all_center_pages_are_one_pass_over_data_loaded_once(delivered, tmp_path):
    from ttw.evaluation.html import write_report

    target, year, _, _ = delivered
    started = time.perf_counter()
    evaluation = load_year(target, year)
    loaded = time.perf_counter()
    written = write_report(evaluation, tmp_path / "report")
    done = time.perf_counter()
    print(f"{year}: loaded in {loaded - started:.2f} s, {len(written) - 1} center pages in {done - loaded:.2f} s")
    assert len(written) == len(evaluation.centers) + 1
    assert done - loaded < 10


def test_the_summary_and_flags_every_deliverable_shows_are_the_marts(delivered):
    """The 汇总 and 预警 sheets and the report's summary read rpt_center_evaluation_summary,
    rpt_center_grade_counts and rpt_center_flags; those follow the rules on the published
    performance rows (recomputed here)."""
    target, year, folder, _ = delivered
    performance = _marts(
        target,
        "select * from marts.rpt_center_performance where evaluation_year = %s order by overall_rank, center_code",
        year,
    )
    (summary,) = _marts(target, "select * from marts.rpt_center_evaluation_summary where evaluation_year = %s", year)
    grades = _marts(
        target, "select * from marts.rpt_center_grade_counts where evaluation_year = %s order by grade_order", year
    )
    flags = _marts(target, "select * from marts.rpt_center_flags where evaluation_year = %s", year)
    comprehensive = _marts(
        target, "select * from marts.rpt_center_comprehensive_evaluation where evaluation_year = %s", year
    )
    new = _marts(target, "select * from marts.rpt_center_new_centers where evaluation_year = %s", year)

    def flagged(p: dict) -> bool:
        return bool(
            p["is_missing_report"]
            or p["has_verification_gap"]
            or p["annual_outcome"] != "none"
            or p["is_listed_after_removal"]
            or p["has_dropped_indicators"]
        )

    assert sorted(f["center_code"] for f in flags) == sorted(p["center_code"] for p in performance if flagged(p))
    assert flags  # the sample has centers to look at
    totals = [p["total_score"] for p in performance]
    mean = (sum(totals) / len(totals)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert (summary["centers_graded"], summary["average_score"], summary["new_centers"]) == (
        len(totals),
        mean,
        len(new),
    )
    assert summary["flagged_centers"] == len(flags)
    assert summary["missing_reports"] == sum(p["is_missing_report"] for p in performance)
    assert summary["verification_gaps"] == sum(p["has_verification_gap"] for p in performance)
    assert summary["rectifications"] == sum(p["needs_rectification"] for p in performance)
    assert summary["removal_recommendations"] == sum(p["is_recommended_for_removal"] for p in performance)
    assert summary["listed_after_removal"] == sum(p["is_listed_after_removal"] for p in performance)
    assert (summary["build_periods_ending"], summary["retained"]) == (
        len(comprehensive),
        sum(c["stays_in_system"] for c in comprehensive),
    )
    assert {g["grade"]: g["centers"] for g in grades if g["centers"]} == dict(Counter(p["grade"] for p in performance))
    assert [g["grade_order"] for g in grades] == sorted(g["grade_order"] for g in grades)

    workbook = load_workbook(folder / f"centers_{year}.xlsx")
    sheet = {r["项目"]: r["数值"] for r in _rows(workbook["汇总"])}
    assert sheet["参评中心数"] == summary["centers_graded"]
    assert sheet["平均分"] == float(summary["average_score"])
    assert sheet["建设期届满中心数"] == summary["build_periods_ending"]
    assert {k: v for k, v in sheet.items() if k.endswith("数") and k[:-1] in {g["grade"] for g in grades}} == {
        f"{g['grade']}数": g["centers"] for g in grades if g["centers"]
    }
    assert sorted(r["中心编号"] for r in _rows(workbook["预警"])) == sorted(f["center_code"] for f in flags)
    html = (folder / "report" / f"centers_{year}.html").read_text(encoding="utf-8")
    assert f"{summary['centers_graded']} 个中心参评" in html
    assert f"平均分 {summary['average_score']:.2f}" in html
    assert f"<p>{len(flags)} 个中心有预警" in html
