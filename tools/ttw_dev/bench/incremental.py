"""``ttw bench incremental``: one more month through ``ttw build``, beside a full refresh.

A generated dataset is loaded into a scratch database (``ttw_bench_build``) a month
behind: every family, but the registry without its newest export month. Then:

1. ``full``: the first ``ttw build`` (every model built from nothing);
2. the held-back month is ingested (new contracts plus corrections of earlier months),
   timed as ``ingest month``;
3. ``incremental``: ``ttw build --changed`` (what depends on the registry, the
   incremental models taking only new batches), or with ``all_nodes`` a plain
   ``ttw build`` (every node; the incremental models still take only new batches);
4. ``full refresh``: ``ttw build --full-refresh`` on the same data, the reference.

Reported: seconds per step, contract-fact rows the incremental build rewrote (found by
their row versions), and incremental ÷ full refresh. dbt's timings per model and test
stay beside the benchmark's dbt target folder as ``run_results_{step}.json``.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path

from ttw.build import build
from ttw.ingest import ingest_contracts
from ttw.settings import Settings
from ttw.warehouse import Target, connect, reset_layers
from ttw_dev.bench.load import bench_target
from ttw_dev.dataset import ingest_dataset, registry_months

BENCH_DB = "ttw_bench_build"
# an incremental month over a full refresh of the same data: at most this share, by scale
# (at scale 100 a month is a smaller share of the registry than at scale 10)
TARGET_RATIO = {10.0: 0.15, 100.0: 0.10}


def target_ratio(scale: float) -> float:
    """The target for a dataset of this scale: that of the largest listed scale not above it."""
    at = max((listed for listed in TARGET_RATIO if listed <= scale), default=min(TARGET_RATIO))
    return TARGET_RATIO[at]


def _row_versions(target: Target) -> dict[str, str]:
    with connect(target) as conn:
        rows = conn.execute("select registration_no, xmin::text from marts_build.fct_tech_contracts").fetchall()
    return dict(rows)


def _timed_build(
    settings: Settings, target: Target, *, step: str, full_refresh: bool = False, changed: bool = False
) -> float:
    """Seconds for one ``ttw build``; dbt's run_results.json is kept as ``run_results_{step}.json``."""
    started = time.perf_counter()
    build(settings, target, full_refresh=full_refresh, changed=changed)
    seconds = round(time.perf_counter() - started, 2)
    results = settings.home_dir / "dbt" / "target" / "run_results.json"
    shutil.copy2(results, results.with_name(f"run_results_{step}.json"))
    return seconds


def run(settings: Settings, target: Target, dataset: Path, *, all_nodes: bool = False) -> dict:
    # dbt's target folder of its own, so the user's last run_results (which gate
    # `ttw publish`) are not replaced by the benchmark's
    bench_settings = Settings(**{**settings.model_dump(), "home": settings.home_dir / "bench" / "build-home"})
    scratch = bench_target(target, BENCH_DB)
    reset_layers(scratch)
    months = registry_months(dataset)
    newest_month, newest_files = list(months.items())[-1]

    started = time.perf_counter()
    loaded = ingest_dataset(scratch, dataset, hold_back_months=1)
    ingest_seconds = round(time.perf_counter() - started, 2)
    full = _timed_build(bench_settings, scratch, full_refresh=True, step="full")
    before = _row_versions(scratch)

    started = time.perf_counter()
    month = ingest_contracts(scratch, newest_files)
    month_seconds = round(time.perf_counter() - started, 2)
    incremental = _timed_build(bench_settings, scratch, changed=not all_nodes, step="incremental")
    with connect(scratch) as conn:
        nodes = conn.execute(
            "select resource_type, count(*) from ops.dbt_results where build_id ="
            " (select build_id from ops.dbt_results order by recorded_at desc limit 1)"
            " and resource_type <> 'exposure' group by 1"
        ).fetchall()
    after = _row_versions(scratch)
    rewritten = sum(1 for key, version in after.items() if before.get(key) != version)

    refresh = _timed_build(bench_settings, scratch, full_refresh=True, step="full_refresh")
    return {
        "benchmark": "incremental",
        "command": f"ttw bench incremental --data {dataset}" + (" --all-nodes" if all_nodes else ""),
        "incremental_build": "ttw build" if all_nodes else "ttw build --changed",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "dataset": str(dataset),
        "contracts_loaded_first": loaded.files["contracts"].rows_loaded,
        "held_back_month": newest_month,
        "month_rows": month.rows_loaded,
        "month_ingest_seconds": month_seconds,
        "incremental_nodes": dict(sorted(nodes)),
        "ingest_seconds": ingest_seconds,
        "fact_rows": len(after),
        "fact_rows_rewritten_by_incremental": rewritten,
        "seconds": {"full": full, "incremental": incremental, "full_refresh": refresh},
        "ratio_incremental_to_full_refresh": round(incremental / refresh, 3) if refresh else None,
        "ratio_month_to_full_refresh": round((month_seconds + incremental) / refresh, 3) if refresh else None,
    }
