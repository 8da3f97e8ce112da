"""The sample platform API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from generated import PLATFORM_TOKEN as TOKEN
from generated import newest_versions as newest

from ttw_dev.platform_server import Faults, serve


@pytest.fixture
def server(platform_server):
    return platform_server


def get(srv, path: str, token: str | None = TOKEN, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(srv.base_url + path, headers=headers, params=params, timeout=10)


def pages(srv, path: str, **params) -> list[list[dict]]:
    collected, cursor = [], None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = get(srv, path, **query).json()
        collected.append(body["data"])
        cursor = body["next_cursor"]
        if not cursor:
            return collected


def test_binds_loopback_and_needs_the_bearer_token(server):
    srv = server()
    assert srv.server_address[0] == "127.0.0.1"
    assert get(srv, "/healthz", token=None).status_code == 200
    missing = get(srv, "/tech_market/api/v1/achievements", token=None)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert get(srv, "/tech_market/api/v1/achievements", token="wrong").status_code == 401
    assert get(srv, "/tech_market/api/v1/achievements").status_code == 200
    assert get(srv, "/").json()["platforms"]["finance"] == ["financing_needs", "loans"]


def test_paging_through_gives_every_newest_version_once_in_order(server, small_dataset):
    srv = server()
    got = [r for page in pages(srv, "/tech_market/api/v1/achievements", page_size=37) for r in page]
    expected = newest(small_dataset, "tech_market", "achievements")
    assert len(got) == len(expected) > 37 * 3
    assert {r["id"]: r for r in got} == expected
    keys = [(dt.datetime.fromisoformat(r["updated_at"]), r["id"]) for r in got]
    assert keys == sorted(keys)
    assert any(r["deleted"] for r in got)  # deletions are served as tombstones


def test_updated_since_returns_only_later_changes(server, small_dataset):
    srv = server()
    since = dt.datetime(2024, 6, 30, 12, tzinfo=dt.UTC)
    got = [
        r for page in pages(srv, "/finance/api/v1/loans", page_size=100, updated_since=since.isoformat()) for r in page
    ]
    expected = {
        k: v
        for k, v in newest(small_dataset, "finance", "loans").items()
        if dt.datetime.fromisoformat(v["updated_at"]) > since
    }
    assert {r["id"] for r in got} == set(expected)
    assert got


def test_as_of_serves_the_data_as_it_stood(server, small_dataset):
    as_of = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    srv = server(as_of=as_of)
    got = [r for page in pages(srv, "/tech_market/api/v1/demands", page_size=500) for r in page]
    assert {r["id"]: r for r in got} == newest(small_dataset, "tech_market", "demands", as_of)


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/tech_market/api/v1/nothing", {}, 404, "no resource 'nothing'"),
        ("/tech_market/api/v1/achievements", {"cursor": "garbage!"}, 400, "cursor"),
        ("/tech_market/api/v1/achievements", {"page_size": "0"}, 400, "page_size"),
        ("/tech_market/api/v1/achievements", {"updated_since": "yesterday"}, 400, "updated_since"),
        ("/api/v1/achievements", {}, 404, "expected /{platform}/api/v1/{resource}"),
    ],
)
def test_bad_requests_get_a_clear_error(server, path, params, status, message):
    response = get(server(), path, **params)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_rate_limit_answers_429_with_retry_after(server):
    srv = server(faults=Faults(rate_limit_every=3, retry_after=7))
    statuses = [get(srv, "/finance/api/v1/loans") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "7"


def test_server_errors_are_injected(server):
    srv = server(faults=Faults(error_rate=1.0))
    assert {get(srv, "/finance/api/v1/loans").status_code for _ in range(8)} <= {500, 503}
    assert get(srv, "/healthz").status_code == 200  # health is never faulty


def test_slow_answers_trip_a_client_timeout(server):
    srv = server(faults=Faults(slow_rate=1.0, slow_seconds=1.0))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(srv.base_url + "/finance/api/v1/loans", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.2)


def test_repeat_fault_repeats_records_across_pages(server, small_dataset):
    srv = server(faults=Faults(repeat=5))
    got = pages(srv, "/tech_market/api/v1/achievements", page_size=50)
    for before, after in itertools.pairwise(got):
        assert [r["id"] for r in before[-5:]] == [r["id"] for r in after[:5]]
    ids = [r["id"] for page in got for r in page]
    assert len(ids) > len(set(ids))
    assert set(ids) == set(newest(small_dataset, "tech_market", "achievements"))


def test_cli_serves_until_stopped_and_never_prints_a_given_token(small_dataset, unused_port):
    ttw = str(Path(sys.executable).with_name("ttw"))
    env = {**os.environ, "TTW_PLATFORM_TOKEN": TOKEN}
    process = subprocess.Popen(
        [ttw, "platform", "serve", "--data", str(small_dataset), "--port", str(unused_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{unused_port}"
        for _ in range(100):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        response = requests.get(
            base + "/challenges/api/v1/challenges", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
        assert response.status_code == 200
        assert response.json()["data"]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"serving {small_dataset} on http://127.0.0.1:{unused_port}" in output
    assert TOKEN not in output


def test_ties_on_updated_at_are_paged_without_loss_or_repeat(tmp_path):
    resource = tmp_path / "platform" / "market" / "achievements.jsonl"
    resource.parent.mkdir(parents=True)
    same = "2024-05-01T08:00:00+08:00"
    lines = [{"id": f"A{i}", "updated_at": same, "deleted": False, "title": str(i)} for i in range(7)]
    resource.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    srv = serve(tmp_path, port=0, token=TOKEN)
    srv.start_background()
    try:
        got = [r["id"] for page in pages(srv, "/market/api/v1/achievements", page_size=2) for r in page]
    finally:
        srv.shutdown()
        srv.server_close()
    assert got == [f"A{i}" for i in range(7)]


def test_records_changed_while_paging_come_again_newer(server, small_dataset):
    srv = server(faults=Faults(change_every=2))
    seen: dict[str, dict] = {}
    repeated = 0
    for page in pages(srv, "/tech_market/api/v1/achievements", page_size=40):
        for record in page:
            if record["id"] in seen:
                repeated += 1
                assert record["updated_at"] > seen[record["id"]]["updated_at"]
            seen[record["id"]] = record  # the newest updated_at wins
    assert repeated > 0
    fresh = {r["id"]: r for page in pages(srv, "/tech_market/api/v1/achievements", page_size=1000) for r in page}
    assert seen == fresh


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["not a time", "A1"]').decode(),
    ],
)
def test_a_decodable_but_foreign_cursor_is_a_400(server, cursor):
    response = get(server(), "/tech_market/api/v1/achievements", cursor=cursor)
    assert response.status_code == 400


def test_a_non_ascii_token_is_refused_not_dropped(server):
    srv = server()
    response = requests.get(
        srv.base_url + "/tech_market/api/v1/achievements", headers={"Authorization": "Bearer 令牌".encode()}, timeout=5
    )
    assert response.status_code == 401


@pytest.mark.parametrize("faults", [{"repeat": -1}, {"error_rate": 1.5}, {"rate_limit_every": -2}])
def test_nonsense_fault_settings_are_refused(faults):
    from ttw.errors import TTWError

    with pytest.raises(TTWError, match="fault"):
        Faults(**faults)
