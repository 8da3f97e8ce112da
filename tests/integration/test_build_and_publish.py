"""dbt builds the slice from raw, its tests pass, and the published marts match the export."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from expected import amount, latest_contracts, qingdao_turnover

from ttw.build import build
from ttw.errors import TTWError
from ttw.ingest import ingest_contracts
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect


def test_build_then_publish_reproduces_the_export_in_marts(clean_target, settings, sample_contracts):
    assert ingest_contracts(clean_target, [sample_contracts]).ok
    output = build(settings, clean_target)
    assert "Completed successfully" in output
    assert "ERROR=0" in output

    assert audit(settings, clean_target).ok
    counts = publish(settings, clean_target)
    contracts = latest_contracts(sample_contracts)
    assert counts["fct_tech_contracts"] == len(contracts) == 60
    assert counts["dim_region"] == 48  # 10 districts, the city, 34 provinces, the country, abroad, unknown

    with connect(clean_target) as conn:
        published = conn.execute(
            "select district_code, registration_year, sum(contract_count)::int, sum(contract_amount)"
            " from marts.rpt_contract_turnover_monthly group by 1, 2 having sum(contract_count) > 0"
        ).fetchall()
        first_half = conn.execute(
            "select district_code, sum(contract_amount), sum(prior_year_contract_amount)"
            " from marts.rpt_contract_turnover_monthly"
            " where registration_year = 2024 and registration_month <= 6 group by 1"
        ).fetchall()
        pii = conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and column_name in ('contact_name', 'contact_phone')"
        ).fetchall()
    assert {(d, y): (c, a) for d, y, c, a in published} == qingdao_turnover(contracts)
    # the prior-year column of 2024 is 2023 as the export has it: YoY compares like with like
    expected_h1 = qingdao_turnover(contracts, range(1, 7))
    for district, current, prior in first_half:
        assert current == expected_h1.get((district, 2024), (0, 0))[1]
        assert prior == expected_h1.get((district, 2023), (0, 0))[1]
    assert pii == []


def test_newest_export_wins_whatever_the_load_order(clean_target, settings, sample_contracts, tmp_path):
    rows = list(csv.reader(sample_contracts.open(encoding="utf-8", newline="")))
    header, original = rows[0], rows[7]
    correction = dict(zip(header, original, strict=True))
    correction["contract_amount"] = "7,654,300"
    correction["tech_transaction_amount"] = "7000000"
    later = tmp_path / "contracts_202407.csv"
    with later.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerow(correction)
    # the correction arrives first, the original export after it
    assert ingest_contracts(clean_target, [later]).ok
    assert ingest_contracts(clean_target, [sample_contracts]).ok
    build(settings, clean_target)
    sample_latest = latest_contracts(sample_contracts)
    revoked = [no for no, row in sample_latest.items() if row["status"] == "已撤销"]
    with connect(clean_target) as conn:
        corrected = conn.execute(
            "select contract_amount from marts_build.fct_tech_contracts where registration_no = %s", (original[0],)
        ).fetchone()[0]
        in_sample_fix = conn.execute(
            "select contract_amount from marts_build.fct_tech_contracts where registration_no = %s",
            ("2023370201000003",),
        ).fetchone()[0]
        revoked_flags = conn.execute(
            "select registration_no, is_registered from marts_build.fct_tech_contracts where registration_no = any(%s)",
            (revoked,),
        ).fetchall()
    assert corrected == Decimal("7654300.00")
    assert in_sample_fix == amount(sample_latest["2023370201000003"]["contract_amount"]) == Decimal("3300000")
    assert revoked_flags == [(no, False) for no in revoked]
    assert revoked


def test_a_failed_build_stops_before_publish(clean_target, settings, sample_contracts):
    assert ingest_contracts(clean_target, [sample_contracts]).ok
    with connect(clean_target) as conn:  # upstream renamed a column: the models no longer fit
        conn.execute("alter table raw.registry_contracts rename column tech_field to tech_area")
        conn.commit()
    with pytest.raises(TTWError) as excinfo:
        build(settings, clean_target)
    assert "tech_field" in str(excinfo.value)

    # and publishing refuses, leaving marts as it was
    with connect(clean_target) as conn:
        conn.execute("create table marts.fct_tech_contracts as select 1 as previous_publish")
        conn.commit()
    with pytest.raises(TTWError, match="the last dbt build did not pass"):
        publish(settings, clean_target)
    with connect(clean_target) as conn:
        assert conn.execute("select * from marts.fct_tech_contracts").fetchall() == [(1,)]
