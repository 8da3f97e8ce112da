"""Report workbook ingest against openpyxl only opening and reading the same workbooks.

``ttw bench reports --scale S`` (:func:`run`) ingests every report workbook of a generated
dataset into a scratch database ``ttw_bench_reports`` beside the warehouse, emptied before
each run, and times, alternating in the same run, the reference: openpyxl (read-only,
values) opening each workbook and reading every cell of every sheet, nothing else
(:func:`openpyxl_read`). It prints the rate ratio against the target of 3.

``python -m ttw_dev.bench.reports DATASET [RUNS]`` ingests every report workbook of a generated
dataset (``ttw generate``) into the warehouse of ``$TTW_HOME`` (its layers emptied before
each run: use a scratch TTW_HOME) in two ways, alternating: ``one process`` is
:func:`ttw.ingest.read_workbooks` as it is; ``2-process pool`` is the reader it replaced
(:func:`pool_read_workbooks`, kept only as this reference: a forkserver
``ProcessPoolExecutor`` of one process per core). Each run also times reading alone (the
same reader, no warehouse). Prints the median of the runs, in rows and workbooks per second.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ttw import ingest
from ttw.settings import get_settings
from ttw.warehouse import Target, ensure_warehouse, reset_layers

TARGET_RATIO = 3.0  # ttw's ingest rate over openpyxl's open-and-read rate

PER_TASK = 32  # the replaced reader's workbooks per worker task


def pool_read_workbooks(paths: list[Path], workers: int | None = None) -> Iterator[tuple]:
    """The replaced reader: ``workers`` forkserver processes, a bounded window read ahead."""
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        window = 4 * PER_TASK * workers
        for start in range(0, len(paths), window):
            yield from pool.map(ingest._read_workbook, paths[start : start + window], chunksize=PER_TASK)


def _rows(item: tuple) -> int:
    workbook = item[2]
    return (
        0
        if workbook is None
        else sum(map(len, (workbook.fields, workbook.indicators, workbook.achievements, workbook.plans)))
    )


def measure(dataset: Path, runs: int = 3) -> dict[str, list[tuple[float, float]]]:
    """Method -> [(ingest seconds, read-only seconds)] per run, and prints each run."""
    target = ensure_warehouse(get_settings())
    files = ingest.deliveries([dataset / "reports"], *ingest.reports.PATTERNS)
    methods: dict[str, Callable] = {"one process": ingest.read_workbooks, "2-process pool": pool_read_workbooks}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    rows = 0
    original = ingest.read_workbooks
    try:
        for _ in range(runs):
            for name, reader in methods.items():
                reset_layers(target)
                ingest.read_workbooks = reader
                start = time.perf_counter()
                report = ingest.ingest_reports(target, files)
                loaded = time.perf_counter() - start
                if not report.ok or len(report.batches) != len(files):
                    raise SystemExit(f"{name}: {report.errors[:3]}")
                start = time.perf_counter()
                rows = sum(map(_rows, reader(files)))
                read = time.perf_counter() - start
                results[name].append((loaded, read))
                print(f"{name}: ingest {loaded:.2f} s, read alone {read:.2f} s", flush=True)
    finally:
        ingest.read_workbooks = original
    print(f"{len(files)} workbooks, {rows:,} rows; load average {os.getloadavg()[0]:.1f}")
    print("| method | ingest median s | rows/s | workbooks/s | read alone median s | runs (s) |")
    print("|---|---|---|---|---|---|")
    for name, times in results.items():
        load_s = statistics.median(t[0] for t in times)
        read_s = statistics.median(t[1] for t in times)
        runs_s = " ".join(f"{t[0]:.2f}" for t in times)
        print(f"| {name} | {load_s:.2f} | {rows / load_s:,.0f} | {len(files) / load_s:.0f} | {read_s:.2f} | {runs_s} |")
    return results


def openpyxl_read(paths: list[Path]) -> int:
    """The reference: openpyxl opens each workbook (read-only, saved values) and reads every
    cell of every sheet. Cells read."""
    from openpyxl import load_workbook

    cells = 0
    for path in paths:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells += len(row)
        finally:
            book.close()
    return cells


def run(target: Target, dataset: Path, runs: int = 3) -> dict:
    """ttw's report ingest and openpyxl's open-and-read of the same workbooks, alternating,
    ``runs`` times each, in the scratch database of ``target``'s server; medians."""
    from ttw_dev.bench.load import bench_target

    scratch = bench_target(target, "ttw_bench_reports")
    files = ingest.deliveries([dataset / "reports"], *ingest.reports.PATTERNS)
    if not files:
        raise SystemExit(f"no report workbooks under {dataset / 'reports'}")
    seconds: dict[str, list[float]] = {"ttw ingest reports": [], "openpyxl open + read": [], "ttw read alone": []}
    rows = 0
    for _ in range(runs):
        reset_layers(scratch)
        start = time.perf_counter()
        report = ingest.ingest_reports(scratch, files)
        seconds["ttw ingest reports"].append(time.perf_counter() - start)
        if not report.ok or len(report.batches) != len(files):
            raise SystemExit(f"ttw ingest reports: {report.errors[:3]}")
        start = time.perf_counter()
        openpyxl_read(files)
        seconds["openpyxl open + read"].append(time.perf_counter() - start)
        start = time.perf_counter()
        rows = sum(map(_rows, ingest.read_workbooks(files)))
        seconds["ttw read alone"].append(time.perf_counter() - start)
    reset_layers(scratch)
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    ratio = round(medians["openpyxl open + read"] / medians["ttw ingest reports"], 2)
    return {
        "benchmark": "reports",
        "workbooks": len(files),
        "rows": rows,
        "runs": runs,
        "load_average": round(os.getloadavg()[0], 1),
        "methods": {
            name: {
                "seconds": [round(x, 2) for x in times],
                "median_seconds": round(medians[name], 2),
                "workbooks_per_s": round(len(files) / medians[name]),
            }
            for name, times in seconds.items()
        },
        "ratios": {"ttw_ingest_rate_vs_openpyxl_read": ratio},
        "target": TARGET_RATIO,
        "met": ratio >= TARGET_RATIO,
    }


if __name__ == "__main__":  # the pool's workers import this module again: nothing runs then
    measure(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3)
