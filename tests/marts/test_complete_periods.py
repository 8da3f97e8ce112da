"""Freshness and complete periods as a BI analyst reads them (docs/bi.md): a January-only
delivery of a new year is fresh data, and it does not change any "newest complete year"
answer; marts.data_freshness says how fresh each source family is; the bureau's metrics
add up from their numerators and denominators."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from psycopg.rows import dict_row

from ttw.build import build
from ttw.ingest import ingest_contracts
from ttw.publish import publish
from ttw.quality import audit
from ttw.sources import FAMILIES
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

NEWEST_COMPLETE_YEAR = {
    "freshness": "select newest_complete_year from marts.data_freshness where source_family = 'registry_contracts'",
    "turnover": "select max(registration_year) from marts.rpt_contract_turnover_monthly where is_complete_year",
    "flows": "select max(registration_year) from marts.rpt_technology_flows where is_complete_year",
    "metrics": "select max(extract(year from period_start))::int from marts.rpt_bureau_metrics"
    " where metric_code = 'turnover' and period_grain = 'year' and is_complete_period",
}


def _answers(target) -> dict[str, int]:
    with connect(target) as conn:
        return {name: conn.execute(query).fetchone()[0] for name, query in NEWEST_COMPLETE_YEAR.items()}


def _freshness(target) -> dict[str, dict]:
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        return {r["source_family"]: r for r in cur.execute("select * from marts.data_freshness").fetchall()}


def _publish(settings, target) -> None:
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)


def _january_export(small_dataset, folder):
    """A January 2026 registry export: a 2025 month's contracts under new numbers and dates."""
    source = sorted((small_dataset / "registry").glob("contracts_2025*.csv"))[0]
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    number, signed, registered = (header.index(c) for c in ("合同登记编号", "签订日期", "登记日期"))
    for row in rows[1:]:
        row[number] = "2026" + row[number][4:]
        row[signed] = row[registered] = "2026-01-15"
    path = folder / "contracts_202601.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def before_and_after(target, settings, small_dataset, tmp_path_factory):
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    _publish(settings, target)
    before = (_answers(target), _freshness(target))
    january = _january_export(small_dataset, tmp_path_factory.mktemp("january"))
    assert ingest_contracts(target, [january]).rows_loaded > 0
    _publish(settings, target)
    return before, (_answers(target), _freshness(target))


def test_a_january_only_delivery_does_not_change_the_newest_complete_year(before_and_after):
    (answers_before, _), (answers_after, _) = before_and_after
    assert answers_before == dict.fromkeys(NEWEST_COMPLETE_YEAR, 2025)
    assert answers_after == answers_before


def test_the_naive_newest_year_does_move_to_the_month_of_data(before_and_after, target):
    with connect(target) as conn:
        naive = conn.execute("select max(registration_year) from marts.rpt_contract_turnover_monthly").fetchone()[0]
    assert naive == 2026  # why the filter is needed: one month of 2026 is published


def test_data_freshness_says_how_fresh_and_which_periods_are_complete(before_and_after, target):
    (_, fresh_before), (_, fresh_after) = before_and_after
    registry_before, registry = fresh_before["registry_contracts"], fresh_after["registry_contracts"]
    assert str(registry_before["newest_period"]) == "2025-12-01"
    assert str(registry["newest_period"]) == "2026-01-01"  # fresh: January is in
    assert registry["is_newest_period_complete"] is True  # January's export arrived
    assert str(registry["complete_through"]) == "2026-01-01"
    assert registry["newest_complete_year"] == 2025  # 2026 has one month of twelve
    assert registry["delivery_count"] == registry_before["delivery_count"] + 1
    assert registry["newest_delivery_at"] > registry_before["newest_delivery_at"]
    assert set(fresh_after) == {family.name for family in FAMILIES}  # a row per family of the registry
    published = {(r["build_id"], r["published_at"]) for r in fresh_after.values()}
    with connect(target) as conn:
        newest = conn.execute("select build_id, published_at from ops.publishes order by published_at desc limit 1")
        assert published == {newest.fetchone()}  # the build and when it was published
    with connect(target) as conn:
        months = conn.execute(
            "select month_start::text, bool_and(is_complete_month), bool_and(is_complete_year)"
            " from marts.rpt_contract_turnover_monthly where registration_year = 2026 group by 1"
        ).fetchall()
    assert months == [("2026-01-01", True, False)]


def test_metrics_add_up_from_numerators_and_denominators(before_and_after, target):
    with connect(target) as conn:
        city, districts = conn.execute(
            "select sum(numerator) filter (where region_code = '370200'),"
            " sum(numerator) filter (where region_code <> '370200')"
            " from marts.rpt_bureau_metrics where metric_code = 'turnover' and period_grain = 'month'"
        ).fetchone()
        turnover = conn.execute("select sum(contract_amount) from marts.rpt_contract_turnover_monthly").fetchone()[0]
        yoy = conn.execute(
            "select numerator, denominator, metric_value from marts.rpt_bureau_metrics"
            " where metric_code = 'turnover_yoy_pct' and period_grain = 'year' and region_code = '370200'"
            " and period_start = '2025-01-01'"
        ).fetchone()
    assert city == districts == turnover
    numerator, denominator, value = yoy
    assert value == (100 * (numerator - denominator) / denominator).quantize(Decimal("0.01"))
