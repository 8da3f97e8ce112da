"""`ttw bi`: Superset set up on the published marts with the dashboards of bi/assets; every
chart's query answers with rows through the REST API, as bi_reader; each dashboard renders
in headless Chromium (saved under $TTW_HOME/bi/screenshots, read back: not blank)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import requests
from browser import Chromium, png_pixels

from ttw.bi import load_assets
from ttw.settings import PROJECT_ROOT

pytestmark = pytest.mark.bi

ASSETS = PROJECT_ROOT / "bi" / "assets"
DASHBOARDS = {
    "contract-turnover": "rpt_contract_turnover_monthly",
    "technology-flows": "rpt_technology_flows",
    "conversion-funnel": "rpt_conversion_funnel",
    "center-ranking": "rpt_center_performance",
    "data-freshness": "data_freshness",
}


def test_setup_imports_every_dashboard_of_the_repository_and_prints_the_admin_login_once(superset, api, settings):
    done, _, lines = superset
    listed = api.get("dashboard/", page_size=100).json()["result"]
    assert sorted(d["slug"] for d in listed) == sorted(DASHBOARDS)
    files = load_assets(ASSETS)
    assert sorted(d["dashboard_title"] for d in listed) == sorted(
        c["dashboard_title"] for n, c in files.items() if n.startswith("dashboards/")
    )
    assert sorted(done.dashboards) == sorted(d["dashboard_title"] for d in listed)
    printed = [line for line in lines if "password" in line and done.admin_password in line]
    assert len(printed) == 1  # the generated password, once
    secrets = [settings.home_dir / "bi" / name for name in ("secret_key", "admin_password", "bi_reader_password")]
    assert all(p.exists() and p.stat().st_mode & 0o077 == 0 for p in secrets)
    assert not list((settings.home_dir / "bi").rglob("*.zip"))  # the bundle (with a password) is gone

    database = api.get("database/", page_size=100).json()["result"]
    assert [d["backend"] for d in database] == ["postgresql"]
    uri = api.get(f"database/{database[0]['id']}/connection").json()["result"]["sqlalchemy_uri"]
    assert re.fullmatch(r"postgresql\+psycopg2://bi_reader:X+@127\.0\.0\.1:\d+/ttw", uri)


def test_every_chart_of_every_dashboard_returns_rows_from_its_mart(api):
    seen = Counter()
    for dashboard in api.get("dashboard/", page_size=100).json()["result"]:
        charts = api.get(f"dashboard/{dashboard['id']}/charts").json()["result"]
        assert charts, dashboard["slug"]
        for chart in charts:
            detail = api.get(f"chart/{chart['id']}").json()["result"]
            dataset_id = json.loads(detail["query_context"])["datasource"]["id"]
            table = api.get(f"dataset/{dataset_id}").json()["result"]
            assert (table["schema"], table["table_name"]) == ("marts", DASHBOARDS[dashboard["slug"]])
            answer = api.get(f"chart/{chart['id']}/data/")
            assert answer.status_code == 200, (chart["slice_name"], answer.text[:500])
            result = answer.json()["result"]
            assert result[0]["rowcount"] > 0, chart["slice_name"]
            assert result[0]["data"], chart["slice_name"]
            seen[dashboard["slug"]] += 1
    assert set(seen) == set(DASHBOARDS)
    assert sum(seen.values()) == len([n for n in load_assets(ASSETS) if n.startswith("charts/")])


def test_the_ranking_shows_grades_and_flags_and_the_turnover_each_district(api):
    charts = {c["slice_name"]: c["id"] for c in api.get("chart/", page_size=100).json()["result"]}
    ranking = next(i for name, i in charts.items() if "Center ranking" in name)
    rows = api.get(f"chart/{ranking}/data/").json()["result"][0]["data"]
    assert {"total_score", "grade", "overall_rank", "has_verification_gap", "annual_outcome_zh"} <= set(rows[0])
    assert {"is_listed_after_removal"} <= set(rows[0])
    newest = max(r["evaluation_year"] for r in rows)
    ranks = [r["overall_rank"] for r in rows if r["evaluation_year"] == newest]
    assert ranks == sorted(ranks)
    assert ranks[0] == 1
    districts = next(i for name, i in charts.items() if "turnover by district" in name and "month" not in name)
    by_district = api.get(f"chart/{districts}/data/").json()["result"][0]["data"]
    assert len(by_district) == 10  # the ten Qingdao districts
    assert all(re.search("[\u4e00-\u9fff]", r["district_name"]) for r in by_district)


def _browser_session(url: str, username: str, password: str) -> dict[str, str]:
    """Log in through Superset's login form, as a person would: its session cookie."""
    http = requests.Session()
    form = http.get(f"{url}/login/", timeout=60).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', form
    )
    assert token, "no CSRF token on the login page"
    login = http.post(
        f"{url}/login/", data={"username": username, "password": password, "csrf_token": token.group(1)}, timeout=60
    )
    assert login.status_code == 200
    assert "session" in http.cookies
    return {"session": http.cookies["session"]}


RENDERED = """(() => {
  const charts = document.querySelectorAll('.dashboard-chart, [data-test="chart-container"]');
  const drawn = document.querySelectorAll(
    '.dashboard-chart canvas, .dashboard-chart table tbody tr, [data-test="chart-container"] canvas,'
    + ' [data-test="chart-container"] table tbody tr');
  const loading = document.querySelectorAll('.loading, [aria-label="Loading"]');
  return charts.length > 0 && drawn.length > 0 && loading.length === 0 ? charts.length : 0;
})()"""


def test_each_dashboard_renders_in_headless_chromium_with_its_charts(superset, api, settings):
    done, url, _ = superset
    cookies = _browser_session(url, done.admin_user, done.admin_password)
    shots = settings.home_dir / "bi" / "screenshots"
    browser = Chromium()
    try:
        for slug in DASHBOARDS:
            browser.open(f"{url}/superset/dashboard/{slug}/?standalone=1", cookies)
            assert browser.wait_for(RENDERED, 120), f"dashboard {slug} did not render its charts"
            errors = browser.evaluate("document.querySelectorAll('[role=alert], .alert-danger').length")
            assert errors == 0, slug
            browser.wait_for("new Promise(r => setTimeout(() => r(true), 1500))", 10)  # animations settle
            shot = browser.screenshot(shots / f"{slug}.png")
            width, height, pixels = png_pixels(shot)
            assert (width, height) == (1600, 1200)
            colours = Counter(pixels)
            _, most = colours.most_common(1)[0]
            assert len(colours) > 200, slug  # glyphs, bars and lines: many shades
            assert most < 0.9 * len(pixels), slug  # not one colour over the page
    finally:
        browser.close()
