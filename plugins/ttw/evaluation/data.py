"""A year of the center evaluation as the deliverables show it (docs/evaluation.md, "Deliverables").

Reads the published ``marts`` (never ``marts_build``): what an evaluator exports is
what BI shows. :func:`load_year` gathers one year in one pass over one connection,
every figure as the marts hold it: the scores and grades, the flagged centers and why
(``rpt_center_flags``), the year's summary (``rpt_center_evaluation_summary``) and the
centers per grade (``rpt_center_grade_counts``). The writers of this package
(:mod:`.tables`, :mod:`.html`, :mod:`.pdf`) only lay these rows out;
:func:`ttw.evaluation.deliver.deliver` runs them.

Every deliverable carries where its figures come from (:class:`Provenance`): the
published build (``ops.publishes``) and the data's as-of time, the newest load time of
the load batches that build read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from psycopg.rows import dict_row

from ttw.errors import TTWError
from ttw.warehouse import Target, connect

# the evaluation marts a year is read from, checked first: a clear error before a publish has made them
REQUIRED_TABLES = (
    "rpt_center_performance",
    "rpt_center_flags",
    "rpt_center_evaluation_summary",
    "rpt_center_grade_counts",
)
# the marts of the center reports' narrative, instrument sharing and changed figures:
# key -> (table, its year column, the order of a center's rows)
NARRATIVE_TABLES = {
    "achievements": ("fct_center_achievements", "report_year", "item_order"),
    "plans": ("fct_center_plans", "report_year", "item_order"),
    "sharing": ("rpt_center_instrument_sharing", "evaluation_year", "center_code"),
    "changes": ("rpt_center_report_changes", "report_year", "indicator_order"),
}


@dataclass
class Provenance:
    """Which published build a deliverable shows, and how current its data are."""

    build_id: str | None = None  # the build the newest publish put into marts
    published_at: dt.datetime | None = None
    as_of: dt.datetime | None = None  # the newest load time of the batches that build read
    frozen: bool | None = None  # the year's published results are frozen (ttw evaluation freeze)

    def as_of_text(self) -> str:
        return self.as_of.isoformat(sep=" ", timespec="seconds") if self.as_of else "—"

    def published_text(self) -> str:
        return self.published_at.isoformat(sep=" ", timespec="seconds") if self.published_at else "—"


@dataclass
class YearEvaluation:
    year: int
    centers: list[dict] = field(default_factory=list)  # rpt_center_performance rows, by rank
    indicators: list[dict] = field(default_factory=list)  # rpt_center_indicator_scores rows
    comprehensive: list[dict] = field(default_factory=list)  # build periods ending this year
    history: list[dict] = field(default_factory=list)  # every year's total and grade, all centers
    new_centers: list[dict] = field(default_factory=list)  # rpt_center_new_centers: listed, not graded
    flagged: list[dict] = field(default_factory=list)  # rpt_center_performance rows of rpt_center_flags, by rank
    summary: dict = field(default_factory=dict)  # the rpt_center_evaluation_summary row of the year
    grade_counts: list[dict] = field(default_factory=list)  # rpt_center_grade_counts rows, best grade first
    narrative: dict[str, dict[str, list[dict]]] = field(default_factory=dict)  # key -> center -> rows
    provenance: Provenance = field(default_factory=Provenance)

    def graded(self) -> list[dict]:
        """The rpt_center_grade_counts rows of the grades that occur this year, best first."""
        return [row for row in self.grade_counts if row["centers"]]

    def grades(self) -> list[str]:
        """The scheme's grades that occur this year, best first (grade_thresholds.grade_order)."""
        return [row["grade"] for row in self.graded()]

    def scheme_versions(self) -> list[str]:
        return sorted({str(row["scheme_version"]) for row in self.centers if row["scheme_version"] is not None})

    def by_center(self, rows: list[dict]) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            grouped[row["center_code"]].append(row)
        return grouped

    def comprehensive_of(self, code: str) -> dict | None:
        return next((row for row in self.comprehensive if row["center_code"] == code), None)


def plain(value: object) -> object:
    """Numbers as numbers a spreadsheet or JSON takes (Decimal → float)."""
    return float(value) if isinstance(value, Decimal) else value


def _exists(cur, schema: str, table: str) -> bool:
    return cur.execute("select to_regclass(%s)", (f"{schema}.{table}",)).fetchone()["to_regclass"] is not None


def provenance(cur) -> Provenance:
    """The published build, when it was published, and the as-of time of its data.

    As of = the newest ``loaded_at`` of the load batches the published build read: exactly
    ``ops.build_batches`` while ``marts_build`` still holds that build, else the live
    batches committed before the build started (its first dbt result less its run time)."""
    found = Provenance()
    if not _exists(cur, "ops", "publishes"):
        return found
    row = cur.execute("select build_id, published_at from ops.publishes order by published_at desc limit 1").fetchone()
    if row is None:
        return found
    found.build_id, found.published_at = row["build_id"], row["published_at"]
    state = (
        cur.execute("select build_id from ops.marts_build_state").fetchone()
        if _exists(cur, "ops", "marts_build_state")
        else None
    )
    if state and state["build_id"] == found.build_id and _exists(cur, "ops", "build_batches"):
        found.as_of = cur.execute(
            "select max(batches.loaded_at) as as_of from ops.load_batches as batches"
            " join ops.build_batches using (batch_id)"
        ).fetchone()["as_of"]
    else:
        found.as_of = cur.execute(
            "with started as (select min(recorded_at - make_interval(secs => coalesce(execution_seconds, 0)))"
            " as at from ops.dbt_results where build_id = %s)"
            " select max(loaded_at) as as_of from ops.load_batches, started"
            " where loaded_at <= coalesce(started.at, %s) and (retracted_at is null or retracted_at > started.at)",
            (found.build_id, found.published_at),
        ).fetchone()["as_of"]
    return found


def _narrative(cur, schema: str, year: int) -> dict[str, dict[str, list[dict]]]:
    """The report narrative, instrument sharing and changed figures of the year, per center."""
    found: dict[str, dict[str, list[dict]]] = {}
    for key, (table, year_column, order) in NARRATIVE_TABLES.items():
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in cur.execute(
            f"select * from {schema}.{table} where {year_column} = %s order by center_code, {order}", (year,)
        ).fetchall():
            grouped[row["center_code"]].append(row)
        found[key] = dict(grouped)
    return found


def load_year(target: Target, year: int, *, schema: str = "marts") -> YearEvaluation:
    """One year's evaluation from the published marts; a clear error when there is none."""
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        for table in REQUIRED_TABLES:
            if not _exists(cur, schema, table):
                raise TTWError(f"{schema}.{table} does not exist yet: run `ttw build` and `ttw publish` first")
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
            f"select scores.*, performance.center_name, performance.overall_rank"
            f" from {schema}.rpt_center_indicator_scores as scores"
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
            "select center_code, evaluation_year, total_score, grade, grade_en, grade_order, overall_rank,"
            f" annual_outcome_zh"
            f" from {schema}.rpt_center_performance where evaluation_year <= %s order by center_code, evaluation_year",
            (year,),
        ).fetchall()
        evaluation.new_centers = cur.execute(
            f"select * from {schema}.rpt_center_new_centers where evaluation_year = %s order by center_code",
            (year,),
        ).fetchall()
        evaluation.flagged = cur.execute(
            f"select performance.*, flags.flag_count, flags.flag_reasons, flags.flag_reasons_en"
            f" from {schema}.rpt_center_flags as flags"
            f" join {schema}.rpt_center_performance as performance using (center_code, evaluation_year)"
            " where flags.evaluation_year = %s order by performance.overall_rank, performance.center_code",
            (year,),
        ).fetchall()
        evaluation.summary = cur.execute(
            f"select * from {schema}.rpt_center_evaluation_summary where evaluation_year = %s", (year,)
        ).fetchone()
        evaluation.grade_counts = cur.execute(
            f"select * from {schema}.rpt_center_grade_counts where evaluation_year = %s order by grade_order",
            (year,),
        ).fetchall()
        evaluation.narrative = _narrative(cur, schema, year)
        evaluation.provenance = provenance(cur)
    from ttw.freeze import frozen_years

    evaluation.provenance.frozen = year in frozen_years(target)
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
