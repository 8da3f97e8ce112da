"""
### Evaluate the centers: evaluator exports and report

After each publish, writes the center evaluation of a year from `marts` (what BI shows)
to `$TTW_HOME/out/evaluation/{year}/`: the workbook in Chinese and the one in English
(说明, 综合评价, 汇总, 排名, 指标明细, 预警, 新建中心), the CSV files (Chinese), the HTML
year report (the comprehensive evaluation first) with a page per graded center in
`report/centers/`, and the year report as PDF (`report/centers_{year}.pdf`, headless Chromium).
Every file names the data's as-of time and the published build.

Param `year` picks the evaluation year (a backfill of an earlier year); by default the
newest year published.

Scheduled by `marts`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ttw.assets import MARTS
from ttw.dagkit import DAG_DEFAULTS


@dag(
    schedule=[MARTS],
    tags=["ttw", "evaluation", "centers"],
    params={"year": Param(None, type=["null", "integer"], description="Evaluation year (default: the newest).")},
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def evaluate_centers():
    @task
    def evaluation_year(params: dict | None = None) -> int:
        """The year asked for, else the newest published; a clear failure when it is not there."""
        from airflow.sdk.exceptions import AirflowFailException

        from ttw.evaluation.data import evaluated_years
        from ttw.warehouse import target_from_airflow

        years = evaluated_years(target_from_airflow())
        wanted = (params or {}).get("year")
        if not years or (wanted is not None and int(wanted) not in years):
            raise AirflowFailException(f"year {wanted or 'any'} is not in marts (published years: {years})")
        return int(wanted) if wanted is not None else years[-1]

    @task
    def write_deliverables(year: int) -> list[str]:
        """Workbooks, CSV files, the HTML year report, a page per center and the PDF, from one load."""
        from ttw.evaluation.deliver import deliver
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        folder = get_settings().out_dir / "evaluation" / str(year)
        written = deliver(target_from_airflow(), year, folder).written
        for path in written:
            print(f"wrote {path}")
        return [str(path) for path in written]

    write_deliverables(evaluation_year())


evaluate_centers()
