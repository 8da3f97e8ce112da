"""Center evaluation tables as evaluators receive them (docs/evaluation.md).

Reads the published ``marts`` (never ``marts_build``): what an evaluator exports is
what BI shows. :func:`load_year` gathers one year; :mod:`ttw.export` writes it as a
workbook or CSV files and :mod:`ttw.report` as an HTML report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from psycopg.rows import dict_row

from ttw.errors import TTWError
from ttw.warehouse import Target, connect


@dataclass
class YearEvaluation:
    year: int
    centers: list[dict] = field(default_factory=list)  # rpt_center_performance rows, by rank
    indicators: list[dict] = field(default_factory=list)  # rpt_center_indicator_scores rows
    comprehensive: list[dict] = field(default_factory=list)  # build periods ending this year
    history: list[dict] = field(default_factory=list)  # every year's total and grade, all centers

    def grades(self) -> list[str]:
        """The scheme's grades that occur this year, best first (grade_thresholds.grade_order)."""
        order = {row["grade"]: row["grade_order"] for row in self.centers}
        return sorted(order, key=order.__getitem__)

    def flagged(self) -> list[dict]:
        return [
            row
            for row in self.centers
            if row["is_missing_report"]
            or row["has_verification_gap"]
            or row["needs_rectification"]
            or row["is_recommended_for_removal"]
            or row["has_dropped_indicators"]
        ]


def plain(value: object) -> object:
    """Numbers as numbers a spreadsheet or JSON takes (Decimal → float)."""
    return float(value) if isinstance(value, Decimal) else value


def load_year(target: Target, year: int, *, schema: str = "marts") -> YearEvaluation:
    """One year's evaluation from the published marts; a clear error when there is none."""
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        published = cur.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = 'rpt_center_performance'",
            (schema,),
        ).fetchone()
        if not published:
            raise TTWError(
                f"{schema}.rpt_center_performance does not exist yet: run `ttw build` and `ttw publish` first"
            )
        evaluation = YearEvaluation(year)
        evaluation.centers = cur.execute(
            f"select * from {schema}.rpt_center_performance where evaluation_year = %s"
            " order by overall_rank, center_code",
            (year,),
        ).fetchall()
        if not evaluation.centers:
            years = [
                r["evaluation_year"]
                for r in cur.execute(
                    f"select distinct evaluation_year from {schema}.rpt_center_performance order by 1"
                ).fetchall()
            ]
            in_roster = cur.execute(
                f"select 1 from {schema}.fct_center_indicators where evaluation_year = %s limit 1", (year,)
            ).fetchone()
            awaiting = (
                f"; {year} is awaiting reports: its roster is loaded and no report yet, so it is not graded"
                if in_roster
                else ""
            )
            raise TTWError(
                f"no center evaluation for {year} in {schema}.rpt_center_performance"
                f" (years evaluated: {', '.join(map(str, years)) or 'none'}{awaiting})"
            )
        evaluation.indicators = cur.execute(
            f"select scores.*, performance.center_name from {schema}.rpt_center_indicator_scores as scores"
            f" join {schema}.rpt_center_performance as performance using (center_code, evaluation_year)"
            " where scores.evaluation_year = %s order by performance.overall_rank, scores.center_code,"
            " scores.category, scores.indicator_code",
            (year,),
        ).fetchall()
        evaluation.comprehensive = cur.execute(
            f"select * from {schema}.rpt_center_comprehensive_evaluation where evaluation_year = %s"
            " order by combined_score desc, center_code",
            (year,),
        ).fetchall()
        evaluation.history = cur.execute(
            f"select center_code, evaluation_year, total_score, grade from {schema}.rpt_center_performance"
            " where evaluation_year <= %s order by center_code, evaluation_year",
            (year,),
        ).fetchall()
    return evaluation


def evaluated_years(target: Target, *, schema: str = "marts") -> list[int]:
    """The evaluation years published in ``rpt_center_performance``, oldest first.

    Only a year at least one center filed a report for: a year awaiting reports (a roster,
    no report loaded yet) is never graded, and should a build grade one anyway (every
    center flagged missing-report) it is not offered for export (docs/evaluation.md,
    "When reports are late")."""
    with connect(target) as conn:
        return [
            row[0]
            for row in conn.execute(
                f"select evaluation_year from {schema}.rpt_center_performance"
                " group by evaluation_year having bool_or(not is_missing_report) order by 1"
            ).fetchall()
        ]


def write_year(target: Target, year: int, folder: Path) -> list[Path]:
    """A year's evaluator deliverables in ``folder``: the workbook in Chinese and English,
    the CSV files (Chinese headers) and the HTML report."""
    from ttw.export import write_csv, write_xlsx
    from ttw.report import write_report

    evaluation = load_year(target, year)
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_xlsx(evaluation, folder / f"centers_{year}.xlsx", "zh")]
    written.append(write_xlsx(evaluation, folder / f"centers_{year}_en.xlsx", "en"))
    written += write_csv(evaluation, folder / "csv", "zh")
    written += write_report(evaluation, folder / "report")
    return written
