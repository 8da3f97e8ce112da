"""A missing source never publishes an evaluation (docs/evaluation.md "When reports are late",
docs/reliability.md "Missing sources").

A year whose roster is loaded and no report yet is awaiting reports: not graded, not
offered for export, listed by the audit. A published table with rows built from a source
family that has none fails the audit, and so does an evaluation mart grading a year with no
report loaded (the invariant, in case the models' rule regresses).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ttw.build import build
from ttw.errors import TTWError
from ttw.evaluation.data import evaluated_years, load_year
from ttw.ingest import ingest_centers, ingest_contracts
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

LATE = 2025  # the small dataset's newest year: its reports are held back
EVALUATION_MARTS = ("rpt_center_performance", "rpt_center_indicator_scores", "rpt_center_comprehensive_evaluation")


def _failed(result, suite: str) -> list:
    return [c for c in result.checks if c.suite == suite and not c.success]


def _unexpected(check) -> list[str]:
    return [str(value) for value in check.details.get("partial_unexpected_list", [])]


@pytest.fixture(scope="module")
def late_year(target, settings, small_dataset, tmp_path_factory):
    """The small dataset with the reports of its newest year not yet delivered: built,
    audited and published."""
    root = tmp_path_factory.mktemp("late-reports") / "data"
    shutil.copytree(small_dataset, root, ignore=lambda folder, _: [str(LATE)] if Path(folder).name == "reports" else [])
    assert not (root / "reports" / str(LATE)).exists()
    reset_layers(target)
    assert ingest_dataset(target, root).ok
    build(settings, target)
    audited = audit(settings, target)
    assert audited.ok, audited.failed_critical
    publish(settings, target)
    return target, audited


def test_year_without_reports_is_not_graded(late_year):
    target, audited = late_year
    with connect(target) as conn:
        for mart in EVALUATION_MARTS:
            years = {row[0] for row in conn.execute(f"select distinct evaluation_year from marts.{mart}")}
            assert LATE not in years, mart
            assert LATE - 1 in years or mart == "rpt_center_comprehensive_evaluation", mart
        # the year's centers are in the system, with their registry figures: only the grading waits
        in_roster = conn.execute(
            "select count(distinct center_code) from marts.fct_center_indicators where evaluation_year = %s", (LATE,)
        ).fetchone()[0]
        awaiting = conn.execute(
            "select bool_and(is_awaiting_reports), count(*) from intermediate.int_centers__center_years"
            " where evaluation_year = %s",
            (LATE,),
        ).fetchone()
        graded_years_awaiting = conn.execute(
            "select count(*) from intermediate.int_centers__center_years"
            " where evaluation_year < %s and is_awaiting_reports",
            (LATE,),
        ).fetchone()[0]
    assert in_roster > 0
    assert awaiting == (True, in_roster)
    assert graded_years_awaiting == 0
    assert LATE not in evaluated_years(target)
    assert evaluated_years(target) == list(range(2021, LATE))
    with pytest.raises(TTWError, match=f"{LATE} is awaiting reports"):
        load_year(target, LATE)
    # listed by the audit, as a warning that does not block the publish
    (listed,) = _failed(audited, "publish_years_awaiting_reports")
    assert listed.severity == "warning"
    assert _unexpected(listed) == [f"{LATE} has a roster and no report loaded: awaiting reports, not graded"]


def test_audit_fails_when_an_evaluation_mart_grades_a_year_without_reports(late_year, settings):
    target, _ = late_year
    with connect(target) as conn:  # the models' rule regresses: the late year is graded anyway
        conn.execute(
            "update marts_build.rpt_center_performance set evaluation_year = %s"
            " where evaluation_year = %s"
            " and center_code = (select min(center_code) from marts_build.rpt_center_performance"
            " where evaluation_year = %s)",
            (LATE, LATE - 1, LATE - 1),
        )
        conn.commit()
    try:
        result = audit(settings, target)
        assert not result.ok
        (check,) = _failed(result, "publish_graded_years_have_reports")
        assert check.severity == "critical"
        assert f"rpt_center_performance grades {LATE}, a year with no report loaded" in _unexpected(check)
        with pytest.raises(TTWError, match="publish_graded_years_have_reports"):
            publish(settings, target)
        with connect(target) as conn:
            assert (
                conn.execute(
                    "select count(*) from marts.rpt_center_performance where evaluation_year = %s", (LATE,)
                ).fetchone()[0]
                == 0
            )
    finally:
        reset_layers(target)  # the next module starts from a first run anyway


def test_audit_fails_when_a_source_family_is_empty(clean_target, settings, small_dataset):
    """Contracts and rosters arrived, no report workbook yet: nothing is graded, and the center
    facts, which need the reports, block the publish."""
    assert ingest_contracts(clean_target, [small_dataset / "registry"]).ok
    assert ingest_centers(clean_target, [small_dataset / "centers"]).ok
    build(settings, clean_target)
    with connect(clean_target) as conn:
        for mart in EVALUATION_MARTS:
            assert conn.execute(f"select count(*) from marts_build.{mart}").fetchone()[0] == 0, mart
        assert conn.execute("select count(*) from marts_build.fct_center_indicators").fetchone()[0] > 0

    result = audit(settings, clean_target)

    assert not result.ok
    (check,) = _failed(result, "publish_sources_present")
    assert check.severity == "critical"
    assert (
        "fct_center_indicators has rows built from center_reports, which has no rows: that source is missing"
        in _unexpected(check)
    )
    # a table that is empty with its sources passes: nothing published needs the platforms here
    assert not any("platform_records" in value for value in _unexpected(check))
    with pytest.raises(TTWError, match="publish_sources_present"):
        publish(settings, clean_target)
