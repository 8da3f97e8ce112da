"""dim_region drills district -> city -> province -> country, keyed to its own rows."""

from __future__ import annotations

import json

import pytest

from ttw.build import ensure_sources, run_dbt
from ttw.warehouse import connect, reset_layers

COUNTRY = "100000"


@pytest.fixture(scope="module")
def regions(settings, target):
    """dim_region built with its seed and the tests on the two alone (the hierarchy's among them)."""
    reset_layers(target)
    ensure_sources(target)  # the ops tables dbt records its results in
    run_dbt(settings, target, ["build", "--select", "region_codes", "dim_region", "--indirect-selection", "cautious"])
    with connect(target) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'marts_build' and table_name = 'dim_region' order by ordinal_position"
            ).fetchall()
        ]
        rows = conn.execute(f"select {', '.join(columns)} from marts_build.dim_region").fetchall()
        results = dict(
            conn.execute(
                "select distinct on (unique_id) unique_id, status from ops.dbt_results"
                " order by unique_id, recorded_at desc"
            ).fetchall()
        )
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}, results


def test_every_district_lies_in_qingdao_in_shandong_in_china(regions):
    rows, _ = regions
    districts = [row for row in rows.values() if row["region_level"] == "district"]
    assert len(districts) == 10
    for row in districts:
        assert (row["parent_region_code"], row["city_code"], row["city_name"]) == ("370200", "370200", "青岛市")
        assert (row["province_code"], row["province_name"]) == ("370000", "山东省")
        assert (row["country_code"], row["country_name"]) == (COUNTRY, "中国")
    city = rows["370200"]
    assert (city["region_level"], city["parent_region_code"], city["city_code"]) == ("city", "370000", "370200")
    assert rows["370000"]["parent_region_code"] == COUNTRY


def test_every_province_hangs_from_the_country_row_and_the_tops_have_no_parent(regions):
    rows, _ = regions
    provinces = [row for row in rows.values() if row["region_level"] == "province"]
    assert len(provinces) == 34
    assert {row["parent_region_code"] for row in provinces} == {COUNTRY}
    assert all(row["city_code"] is None and row["province_code"] == row["region_code"] for row in provinces)
    country = rows[COUNTRY]
    assert (country["region_name"], country["region_name_en"], country["region_level"]) == ("中国", "China", "country")
    assert (country["parent_region_code"], country["province_code"], country["country_code"]) == (None, None, COUNTRY)
    assert country["is_qingdao"] is False
    for code, name in (("900000", "境外"), ("000000", "未知")):  # the tops of their own chains
        top = rows[code]
        assert (top["parent_region_code"], top["city_code"]) == (None, None)
        assert (top["province_code"], top["country_code"], top["country_name"]) == (code, code, name)


def test_the_existing_columns_stay_first_and_unchanged(regions):
    rows, _ = regions
    assert list(rows["370202"])[:6] == [
        "region_code",
        "region_name",
        "region_name_en",
        "region_level",
        "province_code",
        "is_qingdao",
    ]
    assert [rows["370202"][k] for k in ("region_name", "region_level", "province_code", "is_qingdao")] == [
        "市南区",
        "district",
        "370000",
        True,
    ]
    assert len(rows) == 48  # 10 districts, the city, 34 provinces, the country, abroad, unknown


def test_the_hierarchy_tests_ran_in_the_build_and_passed(regions, settings):
    _, results = regions
    manifest = json.loads((settings.home_dir / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    hierarchy_tests = [
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and (
            node["name"] == "assert_region_hierarchy_drills_to_the_country"
            or (
                node.get("column_name") in ("parent_region_code", "city_code", "province_code", "country_code")
                and node.get("test_metadata", {}).get("name") == "relationships"
            )
        )
    ]
    assert len(hierarchy_tests) == 5
    assert {unique_id: results.get(unique_id) for unique_id in hierarchy_tests} == dict.fromkeys(
        hierarchy_tests, "pass"
    )
