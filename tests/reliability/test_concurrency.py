"""Stages that cannot run over each other, builds that read a fixed set of batches, and
batches that commit out of id order: with real concurrent `ttw` processes, the overlap
forced by a lock the test holds from its own connection."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger import SAMPLE, assert_ledger_balances

from ttw.build import build
from ttw.ingest import ensure_raw_tables, ingest_contracts
from ttw.locks import MARTS_BUILD, stage_lock
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect

TTW = str(Path(sys.executable).with_name("ttw"))
HUNG = 600  # seconds: only to stop a process that hangs, never an assertion


def cli_env(settings, target) -> dict[str, str]:
    env = {**os.environ, "TTW_HOME": str(settings.home_dir)}
    if target.embedded:
        env["TTW_WAREHOUSE_PORT"] = str(target.port)
    return env


def start(settings, target, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [TTW, *args], env=cli_env(settings, target), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=HUNG)
    return process.returncode, output


def run(settings, target, *args: str) -> tuple[int, str]:
    return finish(start(settings, target, *args))


def wait_for_waiters(target, count: int, *, relation: str | None = None) -> None:
    """Until ``count`` sessions wait for a lock (on ``relation`` when given): the overlap is
    then certain. Stops (fails) a test that would otherwise hang."""
    query = "select count(*) from pg_locks where not granted"
    args: tuple = ()
    if relation:
        query += " and relation = to_regclass(%s)"
        args = (relation,)
    deadline = time.monotonic() + HUNG
    with connect(target, autocommit=True) as conn:
        while conn.execute(query, args).fetchone()[0] < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{count} session(s) never waited for a lock ({relation or 'any'})")
            time.sleep(0.2)


def count(target, query: str, *args) -> int:
    with connect(target) as conn:
        return conn.execute(query, args).fetchone()[0]


def corrected_export(folder: Path) -> Path:
    """The sample export re-delivered with every contract amount 1,000 yuan higher (a new batch)."""
    folder.mkdir(exist_ok=True)
    path = folder / "contracts_sample_corrected.csv"
    with SAMPLE.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    header = rows[0]
    amount = header.index("contract_amount") if "contract_amount" in header else header.index("合同成交金额")
    for row in rows[1:]:
        with contextlib.suppress(ValueError):  # a row the sample damages on purpose stays as it is
            row[amount] = f"{float(row[amount].replace(',', '')) + 1000:.2f}"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


@pytest.fixture
def built(settings, clean_target, tmp_path):
    """The sample export loaded, built and audited in an empty warehouse."""
    assert ingest_contracts(clean_target, [SAMPLE]).ok
    build(settings, clean_target)
    assert audit(settings, clean_target).ok
    return clean_target


def test_two_publishes_at_once_publish_every_table_once(settings, built):
    # both publishes start while the test holds marts.fct_tech_contracts: unlocked, both
    # would replace its rows over each other (the second's delete waits, then deletes nothing)
    publish(settings, built)
    with connect(built) as holder:
        holder.execute("lock table marts.fct_tech_contracts in access exclusive mode")
        first = start(settings, built, "publish")
        second = start(settings, built, "publish")
        wait_for_waiters(built, 2)
        holder.rollback()
    results = [finish(first), finish(second)]
    assert [code for code, _ in results] == [0, 0], results
    with connect(built) as conn:
        tables = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'marts_build'")]
    assert "fct_tech_contracts" in tables
    assert count(built, "select count(*) from marts.fct_tech_contracts") > 0
    for table in tables:
        assert count(built, f"select count(*) from marts.{table}") == count(
            built, f"select count(*) from marts_build.{table}"
        ), table


@pytest.mark.parametrize("command", ["build", "audit", "publish"])
def test_a_stage_finding_the_lock_taken_names_who_holds_it_and_waits_or_stops(settings, built, command):
    with stage_lock(built, (MARTS_BUILD,), "holder-in-test", timeout=1):
        code, output = run(settings, built, command, "--no-wait")
        assert code == 1, output
        assert f"held by ttw holder-in-test pid={os.getpid()} host={socket.gethostname()} since" in output
        assert "--no-wait" in output
        assert "Traceback" not in output
        code, output = run(settings, built, command, "--lock-timeout", "1")
        assert code == 1, output
        assert "held by ttw holder-in-test" in output
        assert "gave up after waiting 1 s" in output
        waiting = start(settings, built, command)
        wait_for_waiters(built, 1)
    code, output = finish(waiting)
    assert code == 0, output


def test_two_builds_at_once_run_one_after_the_other_and_both_succeed(settings, built):
    with stage_lock(built, (MARTS_BUILD,), "holder-in-test", timeout=1):
        builds = [start(settings, built, "build"), start(settings, built, "build")]
        wait_for_waiters(built, 2)
    results = [finish(process) for process in builds]
    assert [code for code, _ in results] == [0, 0], results
    assert all("ERROR=0" in output for _, output in results), results
    valid_contracts = (
        "select count(distinct btrim(registration_no)) from staging.base_registry__contract_checks where is_valid"
    )
    assert count(built, "select count(*) from marts_build.fct_tech_contracts") == count(built, valid_contracts)


def test_rows_committed_during_a_build_wait_for_the_next_and_raise_no_false_alarm(settings, built, tmp_path):
    corrected = corrected_export(tmp_path / "late")
    amount_before = count(built, "select sum(contract_amount) from marts_build.fct_tech_contracts")
    with connect(built) as holder:
        # the build runs until it reaches the contract fact, which the test holds
        holder.execute("lock table marts_build.fct_tech_contracts in access exclusive mode")
        running = start(settings, built, "build")
        wait_for_waiters(built, 1, relation="marts_build.fct_tech_contracts")
        assert ingest_contracts(built, [corrected]).ok  # committed while the build runs
        holder.rollback()
    code, output = finish(running)
    assert code == 0, output  # staged_or_rejected and the raw-facts reconciliation agree
    late = count(built, "select max(batch_id) from ops.load_batches")
    assert count(built, "select count(*) from staging.base_registry__contract_checks where _batch_id = %s", late) == 0
    assert count(built, "select sum(contract_amount) from marts_build.fct_tech_contracts") == amount_before

    code, output = run(settings, built, "build")
    assert code == 0, output
    staged = count(built, "select count(*) from staging.base_registry__contract_checks where _batch_id = %s", late)
    assert staged == count(built, "select count(*) from raw.registry_contracts where _batch_id = %s", late) > 0
    # the corrections win now (and the build's reconciliation with raw passed over every batch)
    assert count(built, "select count(*) from marts_build.fct_tech_contracts where batch_id = %s", late) > 0
    assert count(built, "select sum(contract_amount) from marts_build.fct_tech_contracts") > amount_before
    assert_ledger_balances(built)


def land_page(conn, records: list[dict], page: str) -> int:
    """A platform page landed as the extractor lands it (one batch, its ledger row), in the
    caller's transaction: the batch id is taken now, the rows count once it commits."""
    batch_id = conn.execute(
        "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)"
        " values ('platform_records', %s, '', %s, %s) returning batch_id",
        (page, len(records), len(records)),
    ).fetchone()[0]
    with conn.cursor() as cur:
        cur.executemany(
            "insert into raw.platform_records (platform, resource, record_id, updated_at, deleted, payload,"
            " _batch_id, _source_file, _row_number)"
            " values ('tech_market', 'achievements', %s, %s, 'false', %s, %s, %s, %s)",
            [
                (r["id"], r["updated_at"], json.dumps(r, ensure_ascii=False), batch_id, page, n)
                for n, r in enumerate(records, start=1)
            ],
        )
    return batch_id


def achievements(prefix: str, n: int) -> list[dict]:
    stamp = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    return [
        {"id": f"{prefix}{i:03d}", "title": f"成果 {prefix}{i}", "status": "展示中", "updated_at": stamp}
        for i in range(n)
    ]


def test_a_batch_committing_after_a_higher_one_was_built_reaches_staging_and_marts(settings, built):
    ensure_raw_tables(built)
    early = connect(built)  # takes its batch id first, commits last
    try:
        early_id = land_page(
            early, achievements("EARLY", 100), "http://127.0.0.1/tech_market/api/v1/achievements?page=1"
        )
        with connect(built) as later:
            later_id = land_page(
                later, achievements("LATER", 5), "http://127.0.0.1/tech_market/api/v1/achievements?page=2"
            )
            later.commit()
        assert later_id > early_id
        code, output = run(settings, built, "build")
        assert code == 0, output
        early.commit()
    finally:
        early.close()
    code, output = run(settings, built, "build")  # incremental
    assert code == 0, output
    for batch_id, rows in ((early_id, 100), (later_id, 5)):
        assert (
            count(built, "select count(*) from staging.base_platform__record_checks where _batch_id = %s", batch_id)
            == rows
        )
    assert count(built, "select count(*) from marts_build.fct_platform_listings where listing_id like 'EARLY%%'") == 100
    assert count(built, "select count(*) from marts_build.fct_platform_listings where listing_id like 'LATER%%'") == 5


def test_a_selection_matching_no_node_fails_naming_it(settings, built):
    results = count(built, "select count(*) from ops.dbt_results")
    code, output = run(settings, built, "build", "--select", "x; drop table marts_build.fct_tech_contracts")
    assert code == 1, output
    assert "--select 'x; drop table marts_build.fct_tech_contracts': matches no model, seed or test" in output
    assert "Traceback" not in output
    assert count(built, "select count(*) from ops.dbt_results") == results
    assert count(built, "select count(*) from marts_build.fct_tech_contracts") > 0
