"""A platform that answers wrongly: cursors that loop, dates from the far future, bodies in
another encoding, ids of every type, bytes the warehouse cannot store, HTML instead of JSON.

A small hostile server on 127.0.0.1 answers each request from the test's canned pages. In
every case nothing is doubled or lost, the ledger balances, and the watermark stands on
the newest updated_at the client accepted and committed.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from generated import PLATFORM_TOKEN
from landed import watermark
from ledger import SAMPLE, assert_ledger_balances, load_rejects

from ttw.build import build
from ttw.errors import TTWError
from ttw.extract.platform import ingest_resource, session
from ttw.orchestrate import prepare_airflow, run_dag
from ttw.warehouse import connect

PLATFORM = "tech_market"
# requests a hostile server answers before it refuses (418): a client that would loop
# forever fails the test instead of hanging it
REQUEST_LIMIT = 60
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def at(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat()


@dataclass
class Answer:
    body: bytes
    content_type: str = "application/json"
    status: int = 200


def page(records: list, cursor: object = None, **dumps) -> Answer:
    return Answer(json.dumps({"data": records, "next_cursor": cursor}, **dumps).encode("utf-8"))


@dataclass
class Hostile:
    """A platform on 127.0.0.1 answering ``answer(resource, query)`` for every request."""

    answer: Callable[[str, dict], Answer]
    queries: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                hostile.queries.append(query)
                if len(hostile.queries) > REQUEST_LIMIT:
                    reply = Answer(b"request limit of the test server", "text/plain", 418)
                else:
                    reply = hostile.answer(url.path.rsplit("/", 1)[-1], query)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{PLATFORM}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile():
    started: list[Hostile] = []

    def start(answer: Callable[[str, dict], Answer]) -> Hostile:
        started.append(Hostile(answer))
        return started[-1]

    yield start
    for server in started:
        server.close()


def by_cursor(pages: dict[str | None, Answer]) -> Callable[[str, dict], Answer]:
    return lambda resource, query: pages[query.get("cursor")]


def read(target, server: Hostile, resource: str = "demands", **kwargs):
    http = session(PLATFORM_TOKEN, retries=1, backoff=0.01)
    return ingest_resource(target, http, server.base_url, resource, **kwargs)


def landed(target, resource: str = "demands") -> dict[str, dict]:
    with connect(target) as conn:
        rows = conn.execute(
            "select record_id, payload from raw.platform_records where platform = %s and resource = %s",
            (PLATFORM, resource),
        ).fetchall()
    return dict(rows)


def batches(target) -> list[tuple[int, int, int, int]]:
    """(received, loaded, rejected, repeated) of every platform batch, in order."""
    with connect(target) as conn:
        return conn.execute(
            "select rows_received, rows_loaded, rows_rejected, rows_skipped from ops.load_batches"
            " where source_family = 'platform_records' order by batch_id"
        ).fetchall()


def rejects(target) -> list[tuple[str, str, str]]:
    """(location, rule, reason) of every rejected platform record."""
    return [(loc, rule, reason) for _, _, loc, rule, reason in load_rejects(target, "platform_records")]


def stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def rec(key: object, updated_at: str, **fields) -> dict:
    return {"id": key, "updated_at": updated_at, **fields}


# --- cursors -----------------------------------------------------------------------------------


def test_a_cursor_given_again_in_the_same_listing_stops_the_run_naming_it(clean_target, hostile):
    first = [rec("D1", at(3)), rec("D2", at(2))]
    server = hostile(by_cursor({None: page(first, "c1"), "c1": page([rec("D3", at(1))], "c1")}))
    with pytest.raises(TTWError, match=r"cursor 'c1' again.*a loop"):
        read(clean_target, server)
    assert len(server.queries) == 2
    assert set(landed(clean_target)) == {"D1", "D2"}  # the looping page is not taken
    assert batches(clean_target) == [(2, 2, 0, 0)]
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(3))  # D2's stamp may go on
    assert_ledger_balances(clean_target)


def test_an_empty_string_cursor_ends_the_listing_like_null(clean_target, hostile):
    server = hostile(
        by_cursor({None: page([rec("D1", at(3)), rec("D2", at(2))], "c1"), "c1": page([rec("D3", at(1))], "")})
    )
    run = read(clean_target, server)
    assert (run.pages, run.loaded) == (2, 3)
    assert len(server.queries) == 2
    assert set(landed(clean_target)) == {"D1", "D2", "D3"}
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(1))
    assert_ledger_balances(clean_target)


def test_empty_pages_that_keep_giving_new_cursors_stop_at_the_page_cap_and_write_no_batch(clean_target, hostile):
    def answer(resource, query):
        if "cursor" not in query:
            return page([rec("D1", at(2))], "e1")
        return page([], f"e{int(query['cursor'][1:]) + 1}")  # nothing, and always somewhere further

    server = hostile(answer)
    with pytest.raises(TTWError, match=r"stopped after 20 pages.*TTW_PLATFORM_MAX_PAGES"):
        read(clean_target, server, max_pages=20)
    assert len(server.queries) == 20
    assert batches(clean_target) == [(1, 1, 0, 0)]  # the empty pages wrote nothing
    assert_ledger_balances(clean_target)


def test_an_empty_page_giving_its_own_cursor_again_stops_the_run(clean_target, hostile):
    server = hostile(by_cursor({None: page([rec("D1", at(2))], "e1"), "e1": page([], "e1")}))
    with pytest.raises(TTWError, match=r"cursor 'e1' again"):
        read(clean_target, server)
    assert batches(clean_target) == [(1, 1, 0, 0)]
    assert_ledger_balances(clean_target)


# --- updated_at ----------------------------------------------------------------------------------


def test_a_record_from_the_future_or_an_impossible_year_is_rejected_and_never_moves_the_watermark(
    clean_target, hostile
):
    soon = (NOW + dt.timedelta(hours=2)).isoformat()  # within the default day of clock skew
    records = [
        rec("D1", at(3)),
        rec("D2", soon),
        rec("D3", "2999-01-01T00:00:00Z"),
        rec("D4", "0000-01-01T00:00:00Z"),
        rec("D5", "10000-01-01T00:00:00Z"),
        rec("D6", "0001-01-01T00:00:00+05:00"),  # before year 1 in UTC
    ]
    server = hostile(by_cursor({None: page(records)}))
    run = read(clean_target, server)
    assert (run.received, run.loaded, run.rejected) == (6, 2, 4)
    assert set(landed(clean_target)) == {"D1", "D2"}
    assert batches(clean_target) == [(6, 2, 4, 0)]
    assert watermark(clean_target, PLATFORM, "demands") == stamp(soon)
    found = rejects(clean_target)
    assert [(loc, rule) for loc, rule, _ in found] == [
        ("record 'D3'", "future_timestamp"),
        ("record 'D4'", "invalid_timestamp"),
        ("record 'D5'", "invalid_timestamp"),
        ("record 'D6'", "invalid_timestamp"),
    ]
    assert "2999-01-01T00:00:00Z is later than now plus 1 day" in found[0][2]
    assert_ledger_balances(clean_target)


def test_the_future_tolerance_is_configurable(clean_target, hostile):
    soon = (NOW + dt.timedelta(hours=2)).isoformat()
    server = hostile(by_cursor({None: page([rec("D1", at(3)), rec("D2", soon)])}))
    run = read(clean_target, server, future_tolerance=dt.timedelta(hours=1))
    assert (run.loaded, run.rejected) == (1, 1)
    assert [(loc, rule) for loc, rule, _ in rejects(clean_target)] == [("record 'D2'", "future_timestamp")]
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(3))
    assert_ledger_balances(clean_target)


# --- encodings -----------------------------------------------------------------------------------

TITLE = "高效节能电机控制技术"


def chinese_page(encoding: str, content_type: str) -> Answer:
    text = json.dumps({"data": [rec("D1", at(1), title=TITLE)], "next_cursor": None}, ensure_ascii=False)
    return Answer(text.encode(encoding), content_type)


def test_json_in_gb18030_without_a_charset_fails_the_page_and_stores_nothing(clean_target, hostile):
    server = hostile(by_cursor({None: chinese_page("gb18030", "application/json")}))
    with pytest.raises(TTWError, match=r"demands\?page_size=500: the answer is not UTF-8 .*declares no other charset"):
        read(clean_target, server)
    assert landed(clean_target) == {}
    assert batches(clean_target) == []
    assert watermark(clean_target, PLATFORM, "demands") is None


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        pytest.param("gb18030", "application/json; charset=GB18030", id="gb18030-declared"),
        pytest.param("utf-8", "text/plain", id="utf-8-as-text-plain"),
        pytest.param("utf-8", "application/json; charset=iso-8859-1", id="utf-8-declared-latin-1"),
    ],
)
def test_json_is_read_as_utf_8_or_the_charset_that_decodes_it(clean_target, hostile, encoding, content_type):
    server = hostile(by_cursor({None: chinese_page(encoding, content_type)}))
    read(clean_target, server)
    assert landed(clean_target)["D1"]["title"] == TITLE
    assert_ledger_balances(clean_target)


def test_a_lone_surrogate_in_a_record_rejects_that_record(clean_target, hostile):
    records = [rec("D1", at(3), title="ok"), rec("D2", at(2), title="\ud800"), rec("D3", at(1), title="ok")]
    server = hostile(by_cursor({None: page(records)}))  # json.dumps writes the escape "\ud800"
    run = read(clean_target, server)
    assert (run.loaded, run.rejected) == (2, 1)
    assert set(landed(clean_target)) == {"D1", "D3"}
    [(location, rule, reason)] = rejects(clean_target)
    assert (location, rule) == ("record 'D2'", "unstorable_value")
    assert "title holds a lone surrogate" in reason
    assert "\ufffd" not in json.dumps(landed(clean_target), ensure_ascii=False)
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(1))
    assert_ledger_balances(clean_target)


# --- ids -------------------------------------------------------------------------------------------


def test_an_id_must_be_a_non_empty_string_or_an_integer_and_is_kept_as_text(clean_target, hostile):
    records = [
        rec(None, at(9)),
        rec("", at(8)),
        rec("  ", at(7)),
        rec({"x": 1}, at(6)),
        rec(True, at(5)),
        rec(7.5, at(4)),
        {"updated_at": at(3)},
        rec(7, at(2)),
        rec("7", at(2)),  # the same record as 7: ids are compared as text
        rec("None", at(1)),
    ]
    server = hostile(by_cursor({None: page(records)}))
    run = read(clean_target, server)
    assert (run.received, run.loaded, run.rejected, run.repeated) == (10, 2, 7, 1)
    assert set(landed(clean_target)) == {"7", "None"}
    found = rejects(clean_target)
    assert {rule for _, rule, _ in found} == {"invalid_record_id"}
    assert [reason for _, _, reason in found] == [
        "id None is not a non-empty string or an integer",
        "id '' is not a non-empty string or an integer",
        "id '  ' is not a non-empty string or an integer",
        "id {'x': 1} is not a non-empty string or an integer",
        "id True is not a non-empty string or an integer",
        "id 7.5 is not a non-empty string or an integer",
        "the record has no id",
    ]
    assert batches(clean_target) == [(10, 2, 7, 1)]
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(1))
    assert_ledger_balances(clean_target)


# --- bytes the warehouse cannot store ------------------------------------------------------------


def test_a_nul_or_a_nan_rejects_that_record_naming_page_and_id_and_the_rest_of_the_page_loads(clean_target, hostile):
    records = [
        rec("D1", at(5), title="ok"),
        rec("D2", at(4), title="a\x00b"),
        rec("D3", at(3), score=float("nan")),
        rec("D4", at(2), score=float("inf")),
        rec("D5", at(1), title="ok"),
    ]
    server = hostile(by_cursor({None: page(records)}))  # json.dumps writes NaN and Infinity
    run = read(clean_target, server)
    assert (run.loaded, run.rejected) == (2, 3)
    assert set(landed(clean_target)) == {"D1", "D5"}
    assert [(loc, rule) for loc, rule, _ in rejects(clean_target)] == [
        ("record 'D2'", "unstorable_value"),
        ("record 'D3'", "unstorable_value"),
        ("record 'D4'", "unstorable_value"),
    ]
    assert any("demands?page_size=500: record 'D3'" in line and "score is NaN" in line for line in run.problems)
    assert watermark(clean_target, PLATFORM, "demands") == stamp(at(1))
    assert_ledger_balances(clean_target)


# --- not JSON at all -----------------------------------------------------------------------------


def test_an_html_answer_says_what_came(clean_target, hostile):
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
    server = hostile(lambda resource, query: Answer(html.encode(), "text/html; charset=utf-8"))
    with pytest.raises(TTWError) as caught:
        read(clean_target, server)
    assert str(caught.value).endswith(f"demands?page_size=500: expected JSON, got text/html: {html[:80]}")
    assert len(server.queries) == 1  # not asked again as if cut short
    assert batches(clean_target) == []


# --- the same id in two resources ----------------------------------------------------------------


def test_the_same_id_in_two_resources_is_two_listings_through_incremental_builds(
    settings, clean_target, hostile, platform_server
):
    sample = platform_server().data
    achievement = {**sample.records(PLATFORM, "achievements")[0][2], "id": "L-1"}
    demand = {**sample.records(PLATFORM, "demands")[0][2], "id": "L-1"}
    served = {"achievements": [achievement], "demands": [demand]}
    server = hostile(lambda resource, query: page(served[resource]))
    for resource in served:
        read(clean_target, server, resource)

    def listings() -> list[tuple[str, str, str]]:
        with connect(clean_target) as conn:
            return conn.execute(
                "select listing_type, listing_id, title from marts_build.fct_platform_listings"
                " where listing_id = 'L-1' order by listing_type"
            ).fetchall()

    build(settings, clean_target)
    assert listings() == [("achievement", "L-1", achievement["title"]), ("demand", "L-1", demand["title"])]

    # a newer version of the demand alone: the incremental build replaces it, not the achievement
    changed = dt.datetime.fromisoformat(demand["updated_at"].replace("Z", "+00:00")) + dt.timedelta(seconds=1)
    served["demands"] = [{**demand, "updated_at": changed.isoformat(), "title": "新标题"}]
    read(clean_target, server, "demands")
    build(settings, clean_target)
    assert listings() == [("achievement", "L-1", achievement["title"]), ("demand", "L-1", "新标题")]
    assert_ledger_balances(clean_target)


# --- the landing_dir param -------------------------------------------------------------------------


def test_the_landing_dir_param_reads_only_folders_under_the_landing_root(settings, clean_target, dag_env, capfd):
    prepare_airflow(settings, clean_target)
    only_the_root = {"TTW_LANDING_ROOTS": "[]"}  # no folder allowed beside TTW_HOME/landing
    inside = settings.landing_dir / "backfill-202401"
    inside.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SAMPLE, inside / "contracts_202401.csv")
    outcome = run_dag(
        settings, clean_target, "ingest_contract_registry", {"landing_dir": str(inside)}, env=only_the_root
    )
    assert outcome.state == "success"
    assert [row[:2] for row in batches_of(clean_target)] == [(str(inside / "contracts_202401.csv"), 62)]

    capfd.readouterr()
    for outside in ("/etc", str(settings.landing_dir / ".." / "pgdata")):
        refused = run_dag(
            settings, clean_target, "ingest_contract_registry", {"landing_dir": outside}, env=only_the_root
        )
        assert refused.state == "failed"
        # the load fails before it reads anything, and the report of rejected files never runs
        assert set(refused.failed_tasks) == {"load_contract_exports", "fail_on_rejected_files"}
        logged = capfd.readouterr()
        summary = [line for line in (logged.out + logged.err).splitlines() if "TTW FAILED" in line]
        assert any(
            f"landing_dir {outside!r} is outside the landing root {settings.landing_dir}" in line for line in summary
        ), summary
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_batches").fetchone()[0] == 1
    assert_ledger_balances(clean_target)


def batches_of(target) -> list[tuple[str, int]]:
    with connect(target) as conn:
        return conn.execute("select source_uri, rows_loaded from ops.load_batches order by batch_id").fetchall()
