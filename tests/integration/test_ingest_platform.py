"""Platform API into raw.platform_records against the real sample server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from generated import PLATFORM_TOKEN
from landed import landed_newest, served, versions_once, watermark

from ttw.build import build
from ttw.errors import TTWError
from ttw.extract.platform import ensure_platform_tables, ingest_resource, session
from ttw.ingest import ingest_platform
from ttw.warehouse import connect
from ttw_dev.platform_server import Faults


def test_a_run_lands_every_version_once_and_a_second_run_finds_nothing(clean_target, settings, platform_server):
    srv = platform_server()
    base = f"{srv.base_url}/tech_market"
    runs = ingest_platform(clean_target, base, PLATFORM_TOKEN, page_size=50)
    offered = {r.resource: r for r in runs if r.offered}
    assert set(offered) == {"achievements", "demands", "matches"}
    for resource, run in offered.items():
        assert landed_newest(clean_target, "tech_market", resource) == served(srv, "tech_market", resource)
        newest_stamp = max(
            dt.datetime.fromisoformat(r["updated_at"]) for r in served(srv, "tech_market", resource).values()
        )
        assert watermark(clean_target, "tech_market", resource) == newest_stamp
        assert run.received == run.loaded
    assert versions_once(clean_target)
    with connect(clean_target) as conn:
        ledger = conn.execute(
            "select sum(rows_received), sum(rows_loaded + rows_skipped) from ops.load_batches"
            " where source_family = 'platform_records'"
        ).fetchone()
    assert ledger[0] == ledger[1] == sum(r.received for r in runs)

    again = ingest_platform(clean_target, base, PLATFORM_TOKEN, resources=["achievements"])
    assert (again[0].pages, again[0].loaded) == (0, 0)

    build(settings, clean_target)  # staging keeps every version (its dbt test checks each batch)
    with connect(clean_target) as conn:
        staged = conn.execute("select count(*) from staging.stg_platform__records").fetchone()[0]
        raw = conn.execute("select count(*) from raw.platform_records").fetchone()[0]
    assert staged == raw == sum(r.loaded for r in runs)


def test_429s_5xx_repeats_and_changes_end_with_exactly_the_servers_records(clean_target, platform_server):
    faults = Faults(rate_limit_every=4, retry_after=1, error_rate=0.15, repeat=3, change_every=3, seed=5)
    srv = platform_server(faults=faults)
    run = ingest_resource(
        clean_target, session(PLATFORM_TOKEN, backoff=0.05), f"{srv.base_url}/tech_market", "achievements", page_size=60
    )
    assert run.repeated > 0  # repeated records were received and not landed twice
    # a record that changed while the last page was served is the next run's: data settles, it runs again
    srv.faults.change_every = 0
    ingest_resource(clean_target, session(PLATFORM_TOKEN, backoff=0.05), f"{srv.base_url}/tech_market", "achievements")
    assert landed_newest(clean_target, "tech_market", "achievements") == served(srv, "tech_market", "achievements")
    assert versions_once(clean_target)
    with connect(clean_target) as conn:
        versions = conn.execute("select count(*) from raw.platform_records").fetchone()[0]
    assert versions > len(served(srv, "tech_market", "achievements"))  # changed records kept every version


def prepared(target):
    """The warehouse with the platform tables made, so a test can watch them fill."""
    with connect(target) as conn:
        ensure_platform_tables(conn)
        conn.commit()
    return target


def test_the_watermark_never_passes_uncommitted_data(clean_target, platform_server):
    prepared(clean_target)
    srv = platform_server(faults=Faults(slow_rate=1.0, slow_seconds=0.15))
    failure: list[Exception] = []

    def read():
        try:
            ingest_resource(
                clean_target, session(PLATFORM_TOKEN), f"{srv.base_url}/tech_market", "achievements", page_size=20
            )
        except TTWError as exc:
            failure.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(200):
        with connect(clean_target) as conn:
            pages = conn.execute(
                "select count(*) from ops.load_batches where source_family = 'platform_records'"
            ).fetchone()[0]
        if pages >= 3:
            break
        time.sleep(0.05)
    srv.token = "revoked"  # the token is revoked mid-run
    reader.join(timeout=60)
    assert failure
    assert "refused the token (401)" in str(failure[0])

    mark = watermark(clean_target, "tech_market", "achievements")
    assert mark is not None
    expected = served(srv, "tech_market", "achievements")
    landed = landed_newest(clean_target, "tech_market", "achievements")
    due = {k for k, r in expected.items() if dt.datetime.fromisoformat(r["updated_at"]) <= mark}
    assert due <= set(landed)  # everything up to the watermark is committed
    assert len(landed) < len(expected)

    srv.token = PLATFORM_TOKEN
    ingest_resource(clean_target, session(PLATFORM_TOKEN), f"{srv.base_url}/tech_market", "achievements", page_size=200)
    assert landed_newest(clean_target, "tech_market", "achievements") == expected
    assert versions_once(clean_target)


def test_a_killed_run_resumes_without_duplicates_or_gaps(clean_target, platform_server, tmp_path):
    prepared(clean_target)
    srv = platform_server(faults=Faults(slow_rate=1.0, slow_seconds=0.1))
    ttw = str(Path(sys.executable).with_name("ttw"))
    env = {
        **os.environ,
        "TTW_WAREHOUSE_URL": clean_target.url,
        "TTW_HOME": str(tmp_path),
        "TTW_PLATFORM_TOKEN": PLATFORM_TOKEN,
    }
    command = [
        ttw,
        "ingest",
        "platform",
        "--base-url",
        f"{srv.base_url}/tech_market",
        "--resource",
        "achievements",
        "--page-size",
        "25",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        with connect(clean_target) as conn:
            if conn.execute("select count(*) from ops.load_batches").fetchone()[0] >= 3:
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    partial = landed_newest(clean_target, "tech_market", "achievements")
    expected = served(srv, "tech_market", "achievements")
    assert 0 < len(partial) < len(expected)

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert landed_newest(clean_target, "tech_market", "achievements") == expected
    assert versions_once(clean_target)


def test_a_resource_the_platform_does_not_offer_is_reported(clean_target, platform_server):
    srv = platform_server()
    [run] = ingest_platform(clean_target, f"{srv.base_url}/finance", PLATFORM_TOKEN, resources=["achievements"])
    assert not run.offered
    assert run.summary == "finance/achievements: not offered by this platform"


def test_cli_without_a_token_is_a_clear_error(clean_target, tmp_path):
    ttw = str(Path(sys.executable).with_name("ttw"))
    env = {k: v for k, v in os.environ.items() if k != "TTW_PLATFORM_TOKEN"}
    env.update({"TTW_WAREHOUSE_URL": clean_target.url, "TTW_HOME": str(tmp_path)})
    result = subprocess.run(
        [ttw, "ingest", "platform", "--base-url", "http://127.0.0.1:9/tech_market"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "no platform token" in result.stderr


def test_tombstones_land_as_deleted_versions(clean_target, platform_server):
    resource = "achievements"
    srv = platform_server()
    ingest_resource(clean_target, session(PLATFORM_TOKEN), f"{srv.base_url}/tech_market", resource)
    deleted = {k for k, r in served(srv, "tech_market", resource).items() if r["deleted"]}
    with connect(clean_target) as conn:
        landed = {r[0] for r in conn.execute("select record_id from raw.platform_records where deleted = 'true'")}
    assert deleted
    assert deleted <= landed


def test_ties_across_a_page_boundary_survive_an_outage(clean_target, platform_server, tmp_path):
    """Records sharing an updated_at split over two pages: the watermark stops before them."""
    import json

    resource = tmp_path / "platform" / "market" / "demands.jsonl"
    resource.parent.mkdir(parents=True)
    stamps = ["2024-05-01T08:00:00+08:00", "2024-05-01T09:00:00+08:00", "2024-05-01T09:00:00+08:00",
              "2024-05-01T09:00:00+08:00", "2024-05-01T10:00:00+08:00"]  # fmt: skip
    lines = [{"id": f"D{i}", "updated_at": stamp, "deleted": False} for i, stamp in enumerate(stamps)]
    resource.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    srv = platform_server(data=tmp_path, faults=Faults(fail_after=1))  # page 1 served, then an outage
    http = session(PLATFORM_TOKEN, retries=1, backoff=0.01)
    with pytest.raises(TTWError, match=r"HTTP 503|after retries"):
        ingest_resource(clean_target, http, f"{srv.base_url}/market", "demands", page_size=2)
    # page 1 held D0 (08:00) and D1 (09:00): only 08:00 is complete
    assert watermark(clean_target, "market", "demands") == dt.datetime.fromisoformat(stamps[0])
    srv.faults.fail_after = 0
    ingest_resource(clean_target, session(PLATFORM_TOKEN), f"{srv.base_url}/market", "demands", page_size=2)
    assert set(landed_newest(clean_target, "market", "demands")) == {f"D{i}" for i in range(5)}
    assert watermark(clean_target, "market", "demands") == dt.datetime.fromisoformat(stamps[-1])
