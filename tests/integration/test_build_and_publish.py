"""dbt builds the slice from raw, its tests pass, and the published marts match the export."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal

import pytest

from ttw.build import build
from ttw.errors import TTWError
from ttw.ingest import ingest_contracts
from ttw.publish import publish
from ttw.warehouse import connect


def expected_turnover(path) -> dict[tuple[str, int], tuple[int, Decimal]]:
    """(seller district, year) -> (contracts, amount), computed from the CSV directly."""
    totals: dict[tuple[str, int], list] = defaultdict(lambda: [0, Decimal(0)])
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["status"] != "已登记" or not row["seller_region_code"].startswith("3702"):
                continue
            year = int(row["registered_on"][:4])
            cell = totals[(row["seller_region_code"], year)]
            cell[0] += 1
            cell[1] += Decimal(row["contract_amount"].replace(",", ""))
    return {key: (count, amount) for key, (count, amount) in totals.items()}


def test_build_then_publish_reproduces_the_export_in_marts(clean_target, settings, sample_contracts):
    assert ingest_contracts(clean_target, [sample_contracts]).ok
    output = build(settings, clean_target)
    assert "Completed successfully" in output
    assert "ERROR=0" in output

    counts = publish(clean_target)
    assert counts["fct_tech_contracts"] == 60
    assert counts["dim_region"] == 46

    with connect(clean_target) as conn:
        published = conn.execute(
            "select district_code, registration_year, sum(contract_count)::int, sum(contract_amount)"
            " from marts.rpt_contract_turnover_monthly group by 1, 2 having sum(contract_count) > 0"
        ).fetchall()
        pii = conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and column_name in ('contact_name', 'contact_phone')"
        ).fetchall()
        yoy = conn.execute(
            "select count(*) from marts.rpt_contract_turnover_monthly"
            " where registration_year = 2024 and prior_year_contract_amount > 0"
            " and contract_amount_yoy_pct <> round(100.0 * (contract_amount - prior_year_contract_amount)"
            " / prior_year_contract_amount, 2)"
        ).fetchone()[0]
    assert {(d, y): (c, a) for d, y, c, a in published} == expected_turnover(sample_contracts)
    assert pii == []
    assert yoy == 0


def test_failing_dbt_test_stops_the_build_with_the_failure_named(clean_target, settings, sample_contracts, tmp_path):
    broken = tmp_path / "contracts_202405.csv"
    text = sample_contracts.read_text(encoding="utf-8")
    broken.write_text(text.replace("技术服务", "技术推广", 1), encoding="utf-8")
    assert ingest_contracts(clean_target, [broken]).ok
    with pytest.raises(TTWError) as excinfo:
        build(settings, clean_target)
    assert "accepted_values_stg_registry__contracts_contract_type" in str(excinfo.value)
