"""The scale-1 Qingdao sample reproduces the calibrated magnitudes (read back from the files)."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict

import pytest
from generated import newest_valid_contracts, parse_date, platform_records, qingdao_sold

from ttw.codes import QINGDAO_DISTRICTS, is_valid_credit_code

YI = 1e8


@pytest.fixture(scope="module")
def contracts(qingdao_dataset) -> dict[str, dict]:
    return newest_valid_contracts(qingdao_dataset)


def test_city_contracts_and_turnover(contracts):
    for year in range(2021, 2026):
        count, _ = qingdao_sold(contracts, year)
        assert 8_500 <= count <= 12_500, (year, count)
    count, turnover = qingdao_sold(contracts, 2024)
    assert 10_000 <= count <= 12_000
    assert turnover / YI == pytest.approx(700, rel=0.02)  # ≈700亿元


def test_shinan_first_half_of_2024(contracts):
    count, amount = qingdao_sold(contracts, 2024, range(1, 7), "370202")
    _, before = qingdao_sold(contracts, 2023, range(1, 7), "370202")
    assert count == pytest.approx(560, rel=0.03)
    assert amount > 21 * YI
    assert amount / before - 1 == pytest.approx(1.51, abs=0.05)  # +151% on the year before


def test_technology_flows_have_local_output_and_intake(contracts):
    flows = Counter()
    for row in contracts.values():
        seller_local = row["seller_region_code"] in QINGDAO_DISTRICTS
        buyer_local = row["buyer_region_code"] in QINGDAO_DISTRICTS
        abroad = row["buyer_country_code"] not in ("", "156")
        flows["local" if seller_local and buyer_local else "output" if seller_local else "intake"] += 1
        flows["abroad"] += abroad
    total = sum(flows[k] for k in ("local", "output", "intake"))
    assert 0.3 < flows["local"] / total < 0.5
    assert 0.35 < flows["output"] / total < 0.55
    assert 0.08 < flows["intake"] / total < 0.2
    assert flows["abroad"] > 0


def test_centers_at_the_end_of_the_period(qingdao_dataset):
    with (qingdao_dataset / "centers" / "centers_2025.csv").open(encoding="utf-8", newline="") as handle:
        roster = list(csv.DictReader(handle))
    in_system = [r for r in roster if r["status"] in ("建设期", "运行期")]
    assert len(in_system) == pytest.approx(1156, rel=0.03)
    assert {r["status"] for r in roster} == {"建设期", "运行期", "已撤销"}
    assert len({r["batch"] for r in roster}) == 10  # two batches a year
    for row in roster:
        start, end = parse_date(row["build_start"]), parse_date(row["build_end"])
        assert end + dt.timedelta(days=1) == start.replace(year=start.year + 3)  # a 3-year build period
        assert is_valid_credit_code(row["host_credit_code"])


def test_platform_activity_per_year(qingdao_dataset, contracts):
    def per_year(platform, resource, day_field):
        newest = {}
        for record in platform_records(qingdao_dataset, platform, resource):
            newest[record["id"]] = record
        return Counter(r[day_field][:4] for r in newest.values())

    achievements = per_year("tech_market", "achievements", "published_on")
    demands = per_year("tech_market", "demands", "published_on")
    matches = per_year("tech_market", "matches", "matched_on")
    assert achievements["2024"] == pytest.approx(3200, rel=0.05)
    assert demands["2024"] == pytest.approx(900, rel=0.1)
    assert matches["2024"] == pytest.approx(459, rel=0.1)
    registered = [m for m in platform_records(qingdao_dataset, "tech_market", "matches") if m["registration_no"]]
    assert len(registered) > 0.3 * sum(matches.values())
    known = [m for m in registered if m["registration_no"] in contracts]
    assert len(known) >= 0.95 * len(registered)  # the rest point at contracts damaged on purpose


def test_an_organization_keeps_one_credit_code_across_sources(qingdao_dataset, contracts):
    sellers = defaultdict(set)
    for row in contracts.values():
        if row["seller_credit_code"]:
            sellers[row["seller_credit_code"]].add(row["seller_name"].replace("股份有限公司", "有限公司"))
    with (qingdao_dataset / "centers" / "centers_2025.csv").open(encoding="utf-8", newline="") as handle:
        hosts = {
            r["host_credit_code"]: r["host_org_name"].replace("股份有限公司", "有限公司")
            for r in csv.DictReader(handle)
        }
    selling_hosts = [code for code in hosts if code in sellers]
    assert len(selling_hosts) > 0.5 * len(hosts)  # centers' hosts sell in the registry
    for code in selling_hosts:
        assert sellers[code] == {hosts[code]}  # one organization, one name (renames aside)
