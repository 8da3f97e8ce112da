"""``ttw bench query``: the BI queries of ``queries/*.sql`` against ``marts``, as ``bi_reader``.

Each file is one question a dashboard or an evaluator asks (its first comment line says
which), with ``%(name)s`` parameters. The values come from the published data itself:
the newest registration year and month, the district that sold most that year, the
newest evaluation year, and the 50 best centers of it (the center query cycles through
them, so it does not read one row over and over). Every query runs a few times to warm
the cache, then ``runs`` times; latency is the client's wall time for execute and fetch
over TCP, as a BI tool sees it. A query that returns no rows is an error: it would
measure nothing.
"""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import time
from dataclasses import replace
from pathlib import Path

from ttw.roles import apply_roles
from ttw.warehouse import Target, connect

QUERIES = Path(__file__).with_name("queries")
WARMUP = 5


def queries() -> dict[str, str]:
    """{name: SQL} for every file in ``queries/``."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(QUERIES.glob("*.sql"))}


def describe(text: str) -> str:
    """The first comment line of a query file: what it asks."""
    return next((line[3:].strip() for line in text.splitlines() if line.startswith("-- ")), "")


def parameters(conn) -> dict:
    """Values for the queries' parameters, read from ``marts``; ``center`` is a list to cycle."""
    year, district = conn.execute(
        "select registration_year, district_code from marts.rpt_contract_turnover_monthly"
        " where registration_year = (select max(registration_year) from marts.rpt_contract_turnover_monthly)"
        " group by 1, 2 order by sum(contract_amount) desc limit 1"
    ).fetchone()
    month = conn.execute(
        "select max(month_start) from marts.rpt_contract_turnover_monthly"
        " where district_code = %s and contract_count > 0",
        (district,),
    ).fetchone()[0]
    evaluation_year = conn.execute("select max(evaluation_year) from marts.rpt_center_performance").fetchone()[0]
    centers = [
        row[0]
        for row in conn.execute(
            "select center_code from marts.rpt_center_performance where evaluation_year = %s"
            " order by overall_rank limit 50",
            (evaluation_year,),
        )
    ]
    return {"year": year, "district": district, "month": month, "evaluation_year": evaluation_year, "center": centers}


def reader_target(target: Target, password: str | None = None) -> Target:
    """``bi_reader`` on ``target``, its password set (a fresh one unless given) by ``ttw roles apply``."""
    password = password or secrets.token_urlsafe(18)
    apply_roles(target, {"bi_reader": password})
    return replace(target, user="bi_reader", password=password)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(reader: Target, runs: int = 200) -> dict:
    """p50 / p95 / max milliseconds per query file, as ``reader`` (read-only)."""
    figures: dict[str, dict] = {}
    with connect(reader, autocommit=True) as conn:
        params = parameters(conn)
        for name, text in queries().items():
            timings, rows = [], set()
            for n in range(WARMUP + runs):
                values = {**params, "center": params["center"][n % len(params["center"])]}
                started = time.perf_counter()
                fetched = conn.execute(text, values).fetchall()
                elapsed = time.perf_counter() - started
                rows.add(len(fetched))
                if n >= WARMUP:
                    timings.append(elapsed * 1000)
            if rows == {0}:
                raise RuntimeError(f"query {name} returned no rows for {params}: it would measure nothing")
            figures[name] = {
                "asks": describe(text),
                "rows": max(rows),
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(_percentile(timings, 0.95), 2),
                "max_ms": round(max(timings), 2),
            }
        sizes = dict(
            conn.execute(
                "select relname, n_live_tup from pg_stat_user_tables where schemaname = 'marts'"
                " and relname in ('fct_tech_contracts', 'rpt_contract_turnover_monthly', 'rpt_center_performance')"
            ).fetchall()
        )
    return {
        "benchmark": "query",
        "runs": runs,
        "role": reader.user,
        "parameters": {k: str(v) if k != "center" else f"{len(v)} best centers" for k, v in params.items()},
        "marts_rows": sizes,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "queries": figures,
        "slowest_p95_ms": max(q["p95_ms"] for q in figures.values()),
    }
