"""The platform API misbehaving: whatever the faults, a run ends with exactly the server's
records, each version landed once, the ledger balanced and the watermark on committed data."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from generated import PLATFORM_TOKEN
from landed import landed_newest, served, versions_once, watermark
from ledger import assert_ledger_balances

from ttw.errors import TTWError
from ttw.extract.platform import ingest_resource, session
from ttw.warehouse import connect
from ttw_dev.platform_server import Faults

TTW = str(Path(sys.executable).with_name("ttw"))
RESOURCE = ("tech_market", "demands")


def newest_stamp(srv) -> dt.datetime:
    return max(dt.datetime.fromisoformat(r["updated_at"]) for r in served(srv, *RESOURCE).values())


def assert_exactly_the_servers_records(target, srv) -> None:
    assert landed_newest(target, *RESOURCE) == served(srv, *RESOURCE)
    assert versions_once(target)
    assert watermark(target, *RESOURCE) == newest_stamp(srv)
    assert_ledger_balances(target)


# the client's read timeout: short only where the fault is slow answers, so that on a
# loaded machine no other case sees an unplanned retry (the fault dice are seeded)
SHORT, NORMAL = 0.5, 30.0


@pytest.mark.parametrize(
    ("faults", "evidence", "timeout"),
    [
        pytest.param(Faults(rate_limit_every=2, retry_after=1), "requests", NORMAL, id="429-storm-with-retry-after"),
        pytest.param(Faults(error_rate=0.5, seed=3), "requests", NORMAL, id="5xx-bursts"),
        pytest.param(Faults(slow_rate=0.4, slow_seconds=1.5, seed=4), "requests", SHORT, id="timeouts"),
        pytest.param(Faults(truncate_rate=0.3, seed=5), "requests", NORMAL, id="answers-cut-off-mid-json"),
        pytest.param(Faults(repeat=7), "repeated", NORMAL, id="pages-repeating-records"),
        pytest.param(Faults(expire_cursor_every=3), "requests", NORMAL, id="cursors-expiring"),
        pytest.param(Faults(expire_cursor_every=1), "requests", NORMAL, id="every-cursor-refused"),
        pytest.param(
            Faults(rate_limit_every=5, error_rate=0.2, truncate_rate=0.2, repeat=3, expire_cursor_every=4, seed=9),
            "repeated",
            NORMAL,
            id="all-at-once",
        ),
    ],
)
def test_a_faulty_api_still_yields_exactly_the_servers_records(
    clean_target, platform_server, faults, evidence, timeout
):
    srv = platform_server(faults=faults)
    clean = platform_server()  # the same data, no faults: how many requests a clean read takes
    ingest_resource(clean_target, session(PLATFORM_TOKEN), f"{clean.base_url}/{RESOURCE[0]}", RESOURCE[1], page_size=25)
    clean_requests = clean.requests_served
    with connect(clean_target) as conn:
        conn.execute("truncate raw.platform_records, ops.load_batches, ops.watermarks")
        conn.commit()

    run = ingest_resource(
        clean_target,
        session(PLATFORM_TOKEN, backoff=0.05),
        f"{srv.base_url}/{RESOURCE[0]}",
        RESOURCE[1],
        page_size=25,
        timeout=timeout,
    )
    assert_exactly_the_servers_records(clean_target, srv)
    if evidence == "repeated":
        assert run.repeated > 0
    else:  # the faults really happened: the run needed more requests than a clean read
        assert srv.requests_served > clean_requests


def test_an_answer_that_stays_cut_short_stops_the_run_with_a_clear_error(clean_target, platform_server):
    srv = platform_server(faults=Faults(truncate_rate=1.0))
    with pytest.raises(
        TTWError, match=r"demands\?page_size=25: the answer came cut short 4 times \(connection dropped"
    ):
        ingest_resource(
            clean_target, session(PLATFORM_TOKEN), f"{srv.base_url}/{RESOURCE[0]}", RESOURCE[1], page_size=25
        )
    assert srv.requests_served == 4
    assert watermark(clean_target, *RESOURCE) is None
    assert_ledger_balances(clean_target)


def test_an_outage_mid_run_stops_on_committed_data_and_a_rerun_completes(clean_target, platform_server):
    srv = platform_server(faults=Faults(fail_after=4))
    base = f"{srv.base_url}/{RESOURCE[0]}"
    with pytest.raises(TTWError, match="HTTP 503 after retries"):
        ingest_resource(clean_target, session(PLATFORM_TOKEN, retries=2, backoff=0.01), base, RESOURCE[1], page_size=25)
    mark = watermark(clean_target, *RESOURCE)
    landed = landed_newest(clean_target, *RESOURCE)
    due = {k for k, r in served(srv, *RESOURCE).items() if dt.datetime.fromisoformat(r["updated_at"]) <= mark}
    assert due <= set(landed) < set(served(srv, *RESOURCE))  # the watermark is on committed data only
    assert_ledger_balances(clean_target)
    srv.faults.fail_after = 0
    ingest_resource(clean_target, session(PLATFORM_TOKEN), base, RESOURCE[1], page_size=25)
    assert_exactly_the_servers_records(clean_target, srv)


def test_a_token_revoked_mid_run_is_a_clear_cli_error_and_never_printed(
    clean_target, settings, small_dataset, unused_port
):
    env = {**os.environ, "TTW_HOME": str(settings.home_dir), "TTW_PLATFORM_TOKEN": PLATFORM_TOKEN}
    if clean_target.embedded:
        env["TTW_WAREHOUSE_PORT"] = str(clean_target.port)
    server = subprocess.Popen(
        [TTW, "platform", "serve", "--data", str(small_dataset), "--port", str(unused_port), "--revoke-after", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving" in server.stdout.readline()
        base = f"http://127.0.0.1:{unused_port}/{RESOURCE[0]}"
        cmd = [TTW, "ingest", "platform", "--base-url", base, "--resource", RESOURCE[1], "--page-size", "25"]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server_out, server_err = server.communicate(timeout=30)
    assert result.returncode == 1
    assert "refused the token (401), it is invalid or revoked" in result.stderr
    assert "Traceback" not in result.stderr
    assert PLATFORM_TOKEN not in result.stdout + result.stderr + server_out + server_err
    with connect(clean_target) as conn:
        pages = conn.execute("select count(*) from ops.load_batches").fetchone()[0]
    assert pages == 3  # what came before the revocation stays committed
    assert_ledger_balances(clean_target)
