"""The star schema on generated data: incremental builds, the calibrated figures from the
marts alone, "as of" questions, and documentation for every model and column."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from generated import newest_valid_contracts, qingdao_sold

from ttw.build import NOTHING_CHANGED, build, run_dbt
from ttw.ingest import ingest_contracts
from ttw.publish import publish
from ttw.quality import audit, newest_build
from ttw.warehouse import connect, table_checksums
from ttw_dev.dataset import ingest_dataset, registry_months

YI = 1e8


def _fact_row_versions(target) -> dict[str, str]:
    with connect(target) as conn:
        return dict(conn.execute("select registration_no, xmin::text from marts_build.fct_tech_contracts").fetchall())


def test_one_more_month_builds_what_depends_on_it_and_equals_a_full_refresh(clean_target, settings, small_dataset):
    assert ingest_dataset(clean_target, small_dataset, hold_back_months=1).ok
    build(settings, clean_target, full_refresh=True)
    before = _fact_row_versions(clean_target)

    newest_files = list(registry_months(small_dataset).values())[-1]
    month = ingest_contracts(clean_target, newest_files)
    assert month.ok
    assert month.rows_loaded > 0
    build(settings, clean_target, changed=True)
    after = _fact_row_versions(clean_target)

    with connect(clean_target) as conn:
        delivered = {
            row[0]
            for row in conn.execute(
                "select registration_no from staging.stg_registry__contracts where batch_id = any(%s)",
                ([b.batch_id for b in month.batches],),
            ).fetchall()
        }
    corrections = delivered & before.keys()
    assert corrections, "the held-back month should correct some earlier contracts"
    rewritten = {key for key, version in after.items() if before.get(key) != version}
    # exactly the month's contracts (new ones and corrected ones) were written again
    assert rewritten == delivered
    assert len(after) - len(before) == len(delivered - before.keys())

    with connect(clean_target) as conn:
        built = {
            row[0]
            for row in conn.execute(
                "select node_name from ops.dbt_results where build_id = %s and resource_type = 'model'",
                (newest_build(clean_target),),
            )
        }
    # only what depends on the registry (or on the rejects it adds to) was built again
    assert {"fct_tech_contracts", "dim_organization", "rpt_contract_turnover_monthly", "rejects"} <= built
    assert not built & {"dim_center", "fct_platform_listings", "base_reports__indicator_checks", "dim_date"}
    assert build(settings, clean_target, changed=True) == NOTHING_CHANGED

    incremental = _without_build_columns(clean_target)
    build(settings, clean_target, full_refresh=True)
    assert _without_build_columns(clean_target) == incremental


def _without_build_columns(target) -> dict:
    """Every mart's checksum; data_freshness also names the build that made it (build_id,
    built_at), so for it the rest of its rows."""
    checksums = table_checksums(target, "marts_build")
    with connect(target) as conn:
        checksums["data_freshness"] = conn.execute(
            "select source_family, period_grain, delivery_count, newest_delivery_at, newest_period,"
            " is_newest_period_complete, complete_through, newest_complete_year"
            " from marts_build.data_freshness order by source_family"
        ).fetchall()
    return checksums


def test_the_marts_reproduce_the_calibrated_figures(clean_target, settings, qingdao_dataset):
    assert ingest_dataset(clean_target, qingdao_dataset).ok
    build(settings, clean_target)
    assert audit(settings, clean_target).ok
    publish(settings, clean_target)

    with connect(clean_target) as conn:
        city = conn.execute(
            "select sum(contract_count), sum(contract_amount) from marts.rpt_contract_turnover_monthly"
            " where registration_year = 2024"
        ).fetchone()
        shinan = conn.execute(
            "select sum(contract_count), sum(contract_amount), sum(prior_year_contract_amount)"
            " from marts.rpt_contract_turnover_monthly"
            " where district_code = '370202' and registration_year = 2024 and registration_month <= 6"
        ).fetchone()

    contracts = newest_valid_contracts(qingdao_dataset)
    # the marts agree with the files, read back independently, to the yuan ...
    assert (city[0], float(city[1])) == pytest.approx(qingdao_sold(contracts, 2024))
    assert (shinan[0], float(shinan[1])) == pytest.approx(qingdao_sold(contracts, 2024, range(1, 7), "370202"))
    assert float(shinan[2]) == pytest.approx(qingdao_sold(contracts, 2023, range(1, 7), "370202")[1])
    # ... and carry the calibrated figures: ≈700亿元 in 2024; 市南区 ≈560 contracts, >21亿, +151%
    assert float(city[1]) / YI == pytest.approx(700, rel=0.02)
    assert shinan[0] == pytest.approx(560, rel=0.03)
    assert float(shinan[1]) > 21 * YI
    assert float(shinan[1]) / float(shinan[2]) - 1 == pytest.approx(1.51, abs=0.05)


def test_dimensions_answer_as_of_questions(clean_target, settings, small_dataset):
    assert ingest_dataset(clean_target, small_dataset).ok
    build(settings, clean_target)

    def roster(year: int) -> dict[str, str]:
        path = small_dataset / "centers" / f"centers_{year}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["center_code"]: row["status"] for row in csv.DictReader(handle)}

    with connect(clean_target) as conn:

        def in_system_on(day: dt.date) -> set[str]:
            rows = conn.execute(
                "select center_code from marts_build.dim_center where is_in_system"
                " and valid_from <= %s and (valid_to is null or valid_to > %s)",
                (day, day),
            ).fetchall()
            return {r[0] for r in rows}

        for year in (2022, 2024):
            listed = roster(year)
            assert in_system_on(dt.date(year, 12, 31)) == {c for c, s in listed.items() if s != "已撤销"}
        # a revoked center keeps its history: in the system until the roster that revokes it
        revoked = [
            (year, code)
            for year in range(2022, 2026)
            for code, status in roster(year).items()
            if status == "已撤销" and roster(year - 1).get(code) in ("建设期", "运行期")
        ]
        assert revoked, "the dataset should revoke some center"
        year, code = revoked[0]
        history = conn.execute(
            "select status, valid_from, valid_to from marts_build.dim_center where center_code = %s"
            " order by version_number",
            (code,),
        ).fetchall()
        assert history[-1][0] == "已撤销"
        assert history[-1][2] is None
        assert history[-2][2] == history[-1][1] == dt.date(year, 12, 31)
        assert code in in_system_on(dt.date(year, 6, 30))
        assert code not in in_system_on(dt.date(year, 12, 31))

        duplicates = conn.execute(
            "select credit_code from marts_build.dim_organization where is_current"
            " group by credit_code having count(*) > 1"
        ).fetchall()
        orphans = conn.execute(
            "select count(*) from marts_build.fct_tech_contracts as f"
            " where not exists (select 1 from marts_build.dim_organization as o"
            "  where o.credit_code = f.seller_credit_code and o.valid_from <= f.registered_on"
            "  and (o.valid_to is null or o.valid_to > f.registered_on))"
        ).fetchone()[0]
    assert duplicates == []
    # every contract finds the name its seller went by on the registration day
    assert orphans == 0


def test_docs_generate_and_every_model_and_column_is_described(clean_target, settings):
    build(settings, clean_target)
    run_dbt(settings, clean_target, ["docs", "generate"])
    target_dir = settings.home_dir / "dbt" / "target"
    manifest = json.loads((target_dir / "manifest.json").read_text())
    catalog = json.loads((target_dir / "catalog.json").read_text())

    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed") or node["package_name"] != "ttw":
            continue
        if not node["description"].strip():
            undocumented.append(unique_id)
        described = {name for name, column in node["columns"].items() if column["description"].strip()}
        built = catalog["nodes"].get(unique_id, {}).get("columns", {})
        undocumented += [f"{unique_id}.{column}" for column in built if column not in described]
    assert undocumented == []
