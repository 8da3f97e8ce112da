"""Evaluation freeze: a frozen year's published evaluation results do not move with later
deliveries (a corrected report) until it is reopened, across full-refresh builds too;
freezing a year not published, freezing twice and reopening a year not frozen are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_database import TTW, cli_env

from ttw.build import build
from ttw.errors import Refusal
from ttw.freeze import evaluation_tables, freeze, freeze_log, frozen_years, reopen
from ttw.ingest import ingest_reports
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

FROZEN, MOVING = 2023, 2024
REASON = "2023 grades announced to the centers"
# a corrected report: figures far above every benchmark (reported value basis)
BOOSTED = {"研发经费投入": 90000, "研发人员数": 5000, "发明专利申请数": 900, "新产品数": 400}


def ttw(settings, target, *args: str) -> tuple[int, str]:
    import subprocess

    done = subprocess.run(
        [TTW, *args], env=cli_env(settings, target), capture_output=True, text=True, timeout=600, check=False
    )
    return done.returncode, done.stdout + done.stderr


def build_audit_publish(settings, target, **options) -> None:
    assert "Completed successfully" in build(settings, target, **options)
    audited = audit(settings, target)
    assert audited.ok, audited.failed_critical
    publish(settings, target)


def year_rows(target, year: int, schema: str = "marts") -> dict[str, list[str]]:
    """Every row of ``year`` of every rpt_center_* table with an evaluation_year, as text, sorted."""
    with connect(target) as conn:
        return {
            table: [
                r[0]
                for r in conn.execute(
                    f"select t::text from {schema}.{table} as t where evaluation_year = %s order by 1", (year,)
                )
            ]
            for table in evaluation_tables(conn, schema)
        }


def corrected_report(target, year: int, folder: Path) -> Path:
    """The report of the year's lowest-scored center that filed one, delivered again with BOOSTED figures."""
    with connect(target) as conn:
        (workbook,) = conn.execute(
            "select i.report_file from marts.rpt_center_performance as p"
            " join marts.fct_center_indicators as i using (center_code, evaluation_year)"
            " where p.evaluation_year = %s and not p.is_missing_report"
            " order by p.total_score, p.center_code limit 1",
            (year,),
        ).fetchone()
    book = load_workbook(workbook)
    for row in book["运行数据"].iter_rows(min_row=3):
        if row[0].value in BOOSTED:
            row[2].value = BOOSTED[row[0].value]
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / Path(workbook).name)
    return folder / Path(workbook).name


@pytest.fixture(scope="module")
def published(target, settings, small_dataset):
    """The small dataset built, audited and published."""
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build_audit_publish(settings, target)
    return target


def test_freezing_a_year_not_published_or_reopening_one_not_frozen_is_refused(published):
    with pytest.raises(Refusal, match=r"2031 is not published: marts.rpt_center_performance holds 2021, 2022"):
        freeze(published, 2031)
    with pytest.raises(Refusal, match=r"2022 is not frozen \(frozen years: none\): nothing to reopen"):
        reopen(published, 2022)
    assert frozen_years(published) == {}
    assert freeze_log(published) == []


def test_a_frozen_year_keeps_its_published_results_until_reopened(published, settings, tmp_path):
    target = published
    before = {year: year_rows(target, year) for year in (FROZEN, MOVING)}
    assert {"rpt_center_performance", "rpt_center_indicator_scores"} <= before[FROZEN].keys()
    # the year's summary, grade counts and flags are frozen with its scores (rpt_center_*, evaluation_year)
    assert {"rpt_center_evaluation_summary", "rpt_center_grade_counts", "rpt_center_flags"} <= before[FROZEN].keys()
    assert before[FROZEN]["rpt_center_performance"]

    code, said = ttw(settings, target, "evaluation", "freeze", "--year", str(FROZEN), "--reason", REASON)
    assert code == 0, said
    kept = sum(len(rows) for rows in before[FROZEN].values())
    assert f"froze {FROZEN}: {kept} rows of {len(before[FROZEN])} tables kept" in said
    code, said = ttw(settings, target, "evaluation", "freeze", "--year", str(FROZEN))
    assert code == 1
    assert f"{FROZEN} is frozen already" in said
    assert f"`ttw evaluation reopen --year {FROZEN}` first" in said
    code, said = ttw(settings, target, "evaluation", "frozen")
    assert code == 0
    assert said.startswith(f"{FROZEN}  frozen ")
    assert f"reason: {REASON}" in said
    assert f"rpt_center_performance {len(before[FROZEN]['rpt_center_performance'])}" in said
    (frozen,) = frozen_years(target).values()
    assert (frozen.year, frozen.reason) == (FROZEN, REASON)
    assert frozen.tables == {table: len(rows) for table, rows in before[FROZEN].items()}

    # corrected reports for both years change both years' scores in what is built
    for year in (FROZEN, MOVING):
        assert ingest_reports(target, [corrected_report(target, year, tmp_path / str(year))]).ok
    build_audit_publish(settings, target)
    built = {year: year_rows(target, year, "marts_build") for year in (FROZEN, MOVING)}
    for year in (FROZEN, MOVING):
        assert built[year]["rpt_center_performance"] != before[year]["rpt_center_performance"]
        assert built[year]["rpt_center_evaluation_summary"] != before[year]["rpt_center_evaluation_summary"]
    after = {year: year_rows(target, year) for year in (FROZEN, MOVING)}
    assert after[FROZEN] == before[FROZEN]  # every row, every column, as frozen
    assert after[MOVING] == built[MOVING]  # the year not frozen moved with the delivery

    # a full refresh rebuilds every model from scratch: the freeze holds
    build_audit_publish(settings, target, full_refresh=True)
    assert year_rows(target, FROZEN) == before[FROZEN]
    assert year_rows(target, MOVING) == built[MOVING]

    code, said = ttw(settings, target, "evaluation", "reopen", "--year", str(FROZEN), "--reason", "regrade")
    assert code == 0, said
    assert year_rows(target, FROZEN) == before[FROZEN]  # until the next publish
    publish(settings, target)
    assert year_rows(target, FROZEN) == year_rows(target, FROZEN, "marts_build")
    assert year_rows(target, FROZEN)["rpt_center_performance"] != before[FROZEN]["rpt_center_performance"]
    assert frozen_years(target) == {}
    code, said = ttw(settings, target, "evaluation", "frozen")
    assert (code, said.strip()) == (0, "no evaluation year is frozen")
    log = freeze_log(target)
    assert [(year, action, reason) for year, action, _, _, _, reason in log] == [
        (FROZEN, "freeze", REASON),
        (FROZEN, "reopen", "regrade"),
    ]
    assert all(by for *_, by, _ in log)
