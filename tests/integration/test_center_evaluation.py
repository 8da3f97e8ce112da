"""Center evaluation on the sample data: one row per roster center-year, totals and grades
by the seeds, a weight change needs no code, and the evaluator outputs (workbook, CSV,
HTML report in headless Chromium) read back as documented."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ttw.build import build
from ttw.evaluation.data import load_year
from ttw.evaluation.html import write_report
from ttw.evaluation.tables import SHEETS, write_csv, write_xlsx
from ttw.publish import publish
from ttw.quality import audit
from ttw.settings import PROJECT_ROOT, Settings
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"
TTW = str(Path(sys.executable).with_name("ttw"))
YEAR = 2024
FORMULA = '=HYPERLINK("http://attacker.example","点击")'


def _seed(name: str) -> list[dict]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _grade(score: Decimal, thresholds: list[dict]) -> str:
    passed = [t for t in thresholds if score >= Decimal(t["min_score"])]
    return max(passed, key=lambda t: Decimal(t["min_score"]))["grade"]


@pytest.fixture(scope="module")
def evaluated(target, settings, small_dataset):
    """The small dataset loaded, one center renamed to a formula, built and published."""
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    with connect(target) as conn:
        conn.execute(
            "update raw.center_roster set center_name = %s"
            " where center_code = (select min(center_code) from raw.center_roster)",
            (FORMULA,),
        )
        conn.commit()
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)
    return target


def test_every_roster_center_is_evaluated_once_with_totals_and_grades_by_the_seeds(evaluated, small_dataset):
    thresholds = _seed("grade_thresholds.csv")
    with connect(evaluated) as conn:
        rows = conn.execute(
            "select evaluation_year, center_code, total_score, grade from marts.rpt_center_performance"
        ).fetchall()
        contributions = dict(
            conn.execute(
                "select center_code || '/' || evaluation_year, round(sum(contribution), 2)"
                " from marts.rpt_center_indicator_scores group by 1"
            ).fetchall()
        )
    for year in range(2021, 2026):
        with (small_dataset / "centers" / f"centers_{year}.csv").open(encoding="utf-8", newline="") as handle:
            in_system = [
                r["center_code"]
                for r in csv.DictReader(handle)
                if r["status"] != "已撤销" and r["approved_on"] <= f"{year}-06-30"  # after the cut-off: 新建
            ]
        evaluated_codes = [code for y, code, _, _ in rows if y == year]
        assert sorted(evaluated_codes) == sorted(in_system), year  # each exactly once
    for year, code, total, grade in rows:
        assert total == contributions[f"{code}/{year}"]
        assert grade == _grade(total, thresholds)
    assert {grade for *_, grade in rows} >= {"优秀", "合格", "不合格"}


def test_workbook_has_the_documented_sheets_numbers_as_numbers_and_no_live_formula(evaluated, tmp_path):
    evaluation = load_year(evaluated, YEAR)
    path = write_xlsx(evaluation, tmp_path / "centers.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [zh for zh, _, _ in SHEETS.values()]

    ranking = workbook["排名"]
    assert [c.value for c in ranking[1]][:4] == ["排名", "核验标记", "中心编号", "中心名称"]
    assert ranking.max_row - 1 == len(evaluation.centers)
    scores = [row[8] for row in ranking.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(score, int | float) for score in scores)  # numbers, not text
    assert scores == sorted(scores, reverse=True)

    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    names = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert names
    assert all(name == "'" + FORMULA for name in names)

    english = load_workbook(write_xlsx(evaluation, tmp_path / "centers_en.xlsx", lang="en"))
    assert english.sheetnames == [en for _, en, _ in SHEETS.values()]
    assert english["Ranking"]["A1"].value == "Rank"


def test_csv_export_writes_every_sheet_neutralised(evaluated, tmp_path):
    evaluation = load_year(evaluated, YEAR)
    files = write_csv(evaluation, tmp_path / "csv")
    assert [f.name for f in files] == [f"centers_{YEAR}_{key}.csv" for key in SHEETS]
    text = (tmp_path / "csv" / f"centers_{YEAR}_ranking.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert len(rows) - 1 == len(evaluation.centers)
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@"))]


def test_html_report_renders_in_headless_chromium_with_its_charts(evaluated, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "headless Chromium is needed for this test: apt-get install chromium (.ci/run does)"
    evaluation = load_year(evaluated, YEAR)
    center = evaluation.centers[0]["center_code"]
    pages = write_report(evaluation, tmp_path / "report", [center])
    year_page, center_page = pages
    assert center_page == tmp_path / "report" / "centers" / f"{center}.html"

    html = year_page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched: opens offline

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,2600"]
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", year_page.as_uri()], check=True, capture_output=True, timeout=120
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one

    dom = subprocess.run(
        [browser, *flags, "--dump-dom", year_page.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    for chart in ("score-distribution", "grades-by-district", "grades-by-industry", "top-centers", "bottom-centers"):
        svg = re.search(rf'<svg class="chart" data-chart="{chart}".*?</svg>', dom, re.S)
        assert svg, chart
        assert len(re.findall(r"<rect ", svg.group(0))) >= 3, chart
    movement = re.search(r'<svg class="chart" data-chart="year-on-year".*?</svg>', dom, re.S)
    assert movement
    assert len(re.findall(r"<circle ", movement.group(0))) == sum(
        1 for c in evaluation.centers if c["previous_total_score"] is not None
    )
    center_dom = subprocess.run(
        [browser, *flags, "--dump-dom", center_page.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert 'data-chart="indicator-scores"' in center_dom
    assert 'data-chart="score-history"' in center_dom


def test_the_commands_write_the_files_they_name_through_one_delivery(evaluated, settings, tmp_path):
    """ttw export centers (xlsx or csv, zh or en) and ttw report centers write what they name."""
    env = {**os.environ, "TTW_HOME": str(settings.home_dir)}
    if evaluated.embedded:
        env["TTW_WAREHOUSE_PORT"] = str(evaluated.port)
    if settings.warehouse_url:
        env["TTW_WAREHOUSE_URL"] = settings.warehouse_url

    def ttw(*args: str) -> str:
        done = subprocess.run([TTW, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # a path longer than a terminal line is still printed whole, on one line
    tmp_path = tmp_path / "deliverables-in-a-folder-whose-path-is-longer-than-one-terminal-line"
    evaluation = load_year(evaluated, YEAR)
    said = ttw("export", "centers", "--year", str(YEAR), "--out", str(tmp_path / "book.xlsx"))
    assert f"wrote {tmp_path / 'book.xlsx'}" in said
    assert f"{len(evaluation.centers)} centers, {len(evaluation.flagged)} flagged" in said
    assert load_workbook(tmp_path / "book.xlsx").sheetnames == [zh for zh, _, _ in SHEETS.values()]
    ttw("export", "centers", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(tmp_path / "csv"))
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(f"centers_{YEAR}_{key}.csv" for key in SHEETS)
    assert (tmp_path / "csv" / f"centers_{YEAR}_ranking.csv").read_text(encoding="utf-8-sig").startswith("Rank,")
    center = evaluation.centers[0]["center_code"]
    said = ttw("report", "centers", "--year", str(YEAR), "--out", str(tmp_path / "report"), "--center", center)
    assert f"wrote {tmp_path / 'report' / f'centers_{YEAR}.html'}" in said
    assert f"wrote 1 center page(s) in {tmp_path / 'report' / 'centers'}" in said
    assert [p.name for p in (tmp_path / "report" / "centers").iterdir()] == [f"{center}.html"]


def test_a_weight_changed_in_the_seed_changes_the_scores_with_no_code_change(evaluated, settings, tmp_path):
    """Runs last in the module: it rebuilds the marts with another scheme."""
    project = tmp_path / "checkout"
    shutil.copytree(PROJECT_ROOT / "dbt_project", project / "dbt_project", ignore=shutil.ignore_patterns("target"))
    scheme = _seed("evaluation_scheme.csv")
    moved = {"rd_spending": -8, "local_transfer_amount": +8}
    for row in scheme:
        row["weight"] = str(Decimal(row["weight"]) + moved.get(row["indicator_code"], 0))
    with (project / "dbt_project" / "seeds" / "evaluation_scheme.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(scheme[0]))
        writer.writeheader()
        writer.writerows(scheme)

    query = (
        "select center_code || '/' || evaluation_year, indicator_code, normalized_score, weight, contribution"
        " from marts_build.rpt_center_indicator_scores"
    )
    with connect(evaluated) as conn:
        before = {(key, code): (score, weight) for key, code, score, weight, _ in conn.execute(query).fetchall()}
    other = Settings(**{**settings.model_dump(), "project_dir": project})
    build(other, evaluated, select=["evaluation_scheme+"])
    with connect(evaluated) as conn:
        after = conn.execute(query).fetchall()
        totals = dict(
            conn.execute(
                "select center_code || '/' || evaluation_year, total_score from marts_build.rpt_center_performance"
            ).fetchall()
        )

    changed = 0
    sums: dict[str, Decimal] = {}
    for key, code, score, weight, contribution in after:
        old_score, old_weight = before[(key, code)]
        assert score == old_score  # normalization does not depend on weights
        assert weight == old_weight + moved.get(code, 0)
        assert contribution == (score * weight / 100).quantize(Decimal("0.0001"))
        sums[key] = sums.get(key, Decimal(0)) + contribution
        changed += code in moved and score != 0
    assert changed > 0
    assert all(totals[key] == total.quantize(Decimal("0.01"), ROUND_HALF_UP) for key, total in sums.items())
