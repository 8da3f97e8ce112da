"""The evaluation's decision rules (docs/evaluation.md, "Decisions") on the sample data,
recomputed here from the rosters and the published annual grades: who is graded, the
annual adjustment, the comprehensive evaluation of the build period, and the roster
cross-check. The dbt unit tests prove each rule on hand-made rows; this proves the
published marts follow them on a whole sample."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from psycopg.rows import dict_row

from ttw.build import build
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

YEARS = range(2021, 2026)
LABELS = {"none": "无", "rectification": "限期整改", "removal_recommended": "建议撤销"}


@pytest.fixture(scope="module")
def published(target, settings, small_dataset):
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build(settings, target)
    audited = audit(settings, target)
    assert audited.ok
    publish(settings, target)
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        marts = {
            table: cur.execute(f"select * from marts.{table}").fetchall()
            for table in ("rpt_center_performance", "rpt_center_new_centers", "rpt_center_comprehensive_evaluation")
        }
        marts["audit"] = audited
        marts["scored_years"] = cur.execute(
            "select distinct center_code, evaluation_year from marts.rpt_center_indicator_scores"
        ).fetchall()
    return marts


def _rosters(root) -> dict[int, list[dict]]:
    rosters = {}
    for year in YEARS:
        with (root / "centers" / f"centers_{year}.csv").open(encoding="utf-8", newline="") as handle:
            rosters[year] = [r for r in csv.DictReader(handle) if r["status"] in ("建设期", "运行期")]
    return rosters


def _by_center(rows: list[dict]) -> dict[str, dict[int, dict]]:
    result: dict[str, dict[int, dict]] = defaultdict(dict)
    for row in rows:
        result[row["center_code"]][row["evaluation_year"]] = row
    return result


def test_grading_cutoff_new_centers_are_listed_and_used_nowhere(published, small_dataset):
    graded = {(r["center_code"], r["evaluation_year"]) for r in published["rpt_center_performance"]}
    new = {(r["center_code"], r["evaluation_year"]) for r in published["rpt_center_new_centers"]}
    scored = {(r["center_code"], r["evaluation_year"]) for r in published["scored_years"]}
    for year, roster in _rosters(small_dataset).items():
        expect_new = {(r["center_code"], year) for r in roster if r["approved_on"] > f"{year}-06-30"}
        expect_graded = {(r["center_code"], year) for r in roster} - expect_new
        assert {k for k in new if k[1] == year} == expect_new, year
        assert {k for k in graded if k[1] == year} == expect_graded, year
    assert new, "the sample approves centers after 30 June: some must be new"
    assert not new & scored  # a new center's year has no score, so it enters no benchmark
    for row in published["rpt_center_new_centers"]:
        assert (row["status_zh"], row["approved_on"] > row["cutoff_date"]) == ("新建", True)


def test_annual_consecutive_unqualified_while_in_system(published):
    seen = defaultdict(int)
    for code, years in _by_center(published["rpt_center_performance"]).items():
        run = 0
        for year in sorted(years):
            row = years[year]
            failing = row["grade"] == "不合格"
            run = run + 1 if failing and (year - 1) in years and years[year - 1]["grade"] == "不合格" else int(failing)
            expected = "removal_recommended" if run >= 2 else "rectification" if failing else "none"
            assert row["annual_outcome"] == expected, (code, year)
            # label and booleans never disagree
            assert row["stays_in_system"] == (expected != "removal_recommended"), (code, year)
            assert row["needs_rectification"] == (expected == "rectification"), (code, year)
            assert row["is_recommended_for_removal"] == (expected == "removal_recommended"), (code, year)
            assert row["annual_outcome_zh"] == LABELS[expected]
            seen[expected] += 1
    assert set(seen) == set(LABELS), seen  # the sample has every outcome


def test_comprehensive_build_period_only_qualified_retained(published):
    performance = _by_center(published["rpt_center_performance"])
    rows = published["rpt_center_comprehensive_evaluation"]
    assert rows
    for row in rows:
        years = performance[row["center_code"]]
        period = [
            years[y]["total_score"] for y in sorted(years) if row["build_start"].year <= y <= row["build_end"].year
        ]
        combined = (sum(period) / len(period)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert (row["years_evaluated"], row["combined_score"]) == (len(period), combined), row["center_code"]
        retained = combined >= 60
        assert row["outcome"] == ("retained" if retained else "not_admitted"), row["center_code"]
        assert row["outcome_zh"] == ("保留" if retained else "不予纳入")
        assert row["stays_in_system"] is retained
    outcomes = {r["outcome"] for r in rows}
    assert outcomes == {"retained", "not_admitted"}, outcomes


def test_roster_cross_check_flags_a_removed_center_still_listed(published):
    removals = defaultdict(list)
    for row in published["rpt_center_performance"]:
        if not row["stays_in_system"]:
            removals[row["center_code"]].append(row["evaluation_year"])
    for row in published["rpt_center_comprehensive_evaluation"]:
        if not row["stays_in_system"]:
            removals[row["center_code"]].append(row["evaluation_year"])
    flagged = 0
    for row in published["rpt_center_performance"]:
        earlier = [y for y in removals[row["center_code"]] if y < row["evaluation_year"]]
        key = (row["center_code"], row["evaluation_year"])
        assert row["removed_in_year"] == (max(earlier) if earlier else None), key
        assert row["is_listed_after_removal"] is bool(earlier)
        flagged += bool(earlier)
    assert flagged, "the sample keeps some removed centers on later rosters"
    # every audit lists them for the evaluator, as a warning that does not block the publish
    (check,) = [c for c in published["audit"].checks if c.suite == "publish_centers_listed_after_removal"]
    assert not check.success
    assert check.details["unexpected_count"] == flagged
    assert all("evaluation removed it" in str(line) for line in check.details["partial_unexpected_list"])
