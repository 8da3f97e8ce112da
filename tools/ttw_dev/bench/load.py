"""``ttw bench load``: a large contracts CSV through ``ttw ingest contracts``, beside references.

The same file goes into the same table (``raw.registry_contracts``, with its metadata
defaults and index) of a scratch database ``ttw_bench`` three ways, alternating:

- ``ttw``: the project's loader (``ingest_contracts``: header mapping, SHA-256 while
  streaming, one atomic batch, ledger row, row count check);
- ``psql \\copy``: the PostgreSQL client's own COPY of the file;
- ``pandas.to_sql``: ``read_csv`` then ``DataFrame.to_sql`` through SQLAlchemy.

and the same rows as an xlsx export (written once beside the CSV, by openpyxl) two ways:

- ``ttw xlsx``: the project's loader on the workbook (python-calamine reads the cells);
- ``openpyxl xlsx``: the same loader with the reader it had before, openpyxl in read-only
  mode (:func:`openpyxl_rows`, kept here only as the reference).

The table is emptied before every run. Figures are medians over the runs.
"""

from __future__ import annotations

import csv
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from psycopg import sql

from ttw.extract import registry
from ttw.extract.registry import COLUMNS, cell_text, map_header
from ttw.ingest import ensure_raw_tables, ingest_contracts
from ttw.warehouse import Target, connect, ensure_schemas, psql_path
from ttw_dev.dataset import registry_months

BENCH_DB = "ttw_bench"
# the reference a load is held to: PostgreSQL's COPY into a bare table of the file's columns
BARE_TABLE = "public.bare_contracts"
TARGET_VS_BARE = 1.0  # ttw's rate over `psql \copy` into the bare table


def make_contracts_csv(path: Path, rows: int, seed: int = 42) -> Path:
    """A UTF-8 contracts export of ``rows`` realistic rows (the generator's row maker)."""
    from ttw_dev.generate.orgs import pool_sizes
    from ttw_dev.generate.registry import make_contract

    rng = random.Random(seed)
    sizes = pool_sizes(20)
    sequence: dict = {}
    districts = ("370202", "370203", "370211", "370212", "370213", "370214", "370215", "370281", "370283", "370285")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            record, _ = make_contract(
                rng,
                seed,
                sizes,
                2024,
                1 + n % 12,
                28,
                districts[n % 10],
                rng.randrange(10_000, 9_000_000),
                {},
                sequence,
            )
            writer.writerow([record[c] for c in COLUMNS])
    return path


def make_contracts_xlsx(csv_path: Path, path: Path) -> Path:
    """The rows of a contracts CSV as an xlsx export: one sheet, the header in row 1."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("合同登记")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(path)
    return path


def xlsx_of(path: Path) -> Path:
    """The xlsx export of the same rows as the CSV at ``path``, written on first use."""
    xlsx = path.with_suffix(".xlsx")
    if not xlsx.exists():
        make_contracts_xlsx(path, xlsx)
    return xlsx


def openpyxl_rows(path: Path, rejected: list | None = None) -> tuple[tuple[str, ...], Iterator[tuple[int, list[str]]]]:
    """The reader registry exports had before python-calamine: openpyxl in read-only mode,
    first sheet, header in the first non-empty row (a reference for the benchmark only;
    ``rejected`` is the loader's list of rows left out, which this reader never fills)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    header_row, header = next(
        (n, [cell_text(v) for v in values]) for n, values in enumerate(rows, start=1) if any(values)
    )
    columns = map_header(path, [h for h in header if h])

    def data() -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(rows, start=header_row + 1):
            texts = [cell_text(v) for v in values]
            if any(texts):
                yield number - header_row, (texts + [""] * len(columns))[: len(columns)]
        book.close()

    return columns, data()


@contextmanager
def _reader(read) -> Iterator[None]:
    """The loader with another workbook reader, for one timed run."""
    kept = registry.read_xlsx_rows
    registry.read_xlsx_rows = read
    try:
        yield
    finally:
        registry.read_xlsx_rows = kept


def bench_target(target: Target, dbname: str = BENCH_DB) -> Target:
    """A scratch database next to the warehouse, created on first use."""
    with connect(replace(target, dbname="postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    scratch = replace(target, dbname=dbname)
    ensure_schemas(scratch)
    ensure_raw_tables(scratch)
    with connect(scratch, autocommit=True) as conn:
        columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in COLUMNS)
        conn.execute(sql.SQL("create table if not exists {} ({})").format(sql.SQL(BARE_TABLE), columns))
    return scratch


def _empty(target: Target) -> None:
    with connect(target) as conn:
        conn.execute(f"truncate raw.registry_contracts, {BARE_TABLE}")
        conn.execute("delete from ops.load_batches where source_family = 'registry_contracts'")
        conn.commit()


def _rows_in_table(target: Target) -> int:
    with connect(target) as conn:
        return conn.execute(
            f"select (select count(*) from raw.registry_contracts) + (select count(*) from {BARE_TABLE})"
        ).fetchone()[0]


def run_ttw(target: Target, path: Path) -> float:
    started = time.perf_counter()
    report = ingest_contracts(target, [path])
    elapsed = time.perf_counter() - started
    if not report.ok or report.batches[0].skipped:
        raise RuntimeError(f"ttw load did not load: {report.errors or 'skipped'}")
    return elapsed


def run_psql(target: Target, path: Path) -> float:
    # the metadata columns' defaults read these settings, as the loader sets them per batch
    env = {**os.environ, **target.libpq_env(), "PGOPTIONS": f"-c ttw.batch_id=0 -c ttw.source_file={path.name}"}
    columns = ", ".join(COLUMNS)
    command = f"\\copy raw.registry_contracts ({columns}) from '{path}' with (format csv, header true)"
    started = time.perf_counter()
    subprocess.run([str(psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], env=env, check=True)
    return time.perf_counter() - started


def run_psql_bare(target: Target, path: Path) -> float:
    """``psql \\copy`` of the file into a bare table of its 22 text columns: no defaults, no
    index; in the file's encoding (the server converts a GB18030 export, as for the loader)."""
    with path.open("rb") as head:
        encoding = (registry.detect_encoding(head.read(1 << 16)) or ("UTF8", 0))[0]
    command = (
        f"\\copy {BARE_TABLE} ({', '.join(COLUMNS)}) from '{path}'"
        f" with (format csv, header true, encoding '{encoding}')"
    )
    env = {**os.environ, **target.libpq_env()}
    started = time.perf_counter()
    subprocess.run([str(psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], env=env, check=True)
    return time.perf_counter() - started


def run_to_sql(target: Target, path: Path) -> float:
    import pandas as pd
    from sqlalchemy import create_engine

    url = target.url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, connect_args={"options": f"-c ttw.batch_id=0 -c ttw.source_file={path.name}"})
    started = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.to_sql("registry_contracts", engine, schema="raw", if_exists="append", index=False, chunksize=10_000)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def run_ttw_xlsx(target: Target, path: Path) -> float:
    return run_ttw(target, xlsx_of(path))


def run_openpyxl_xlsx(target: Target, path: Path) -> float:
    with _reader(openpyxl_rows):
        return run_ttw(target, xlsx_of(path))


METHODS = {
    "ttw": run_ttw,
    "psql \\copy, bare table": run_psql_bare,
    "psql \\copy": run_psql,
    "pandas.to_sql": run_to_sql,
    "ttw xlsx": run_ttw_xlsx,
    "openpyxl xlsx": run_openpyxl_xlsx,
}
XLSX_METHODS = ("ttw xlsx", "openpyxl xlsx")


def run(target: Target, path: Path, runs: int, methods: tuple[str, ...]) -> dict:
    scratch = bench_target(target)
    with path.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1  # the generated file has no newlines inside fields
    size = path.stat().st_size
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    # the file each method reads: the xlsx is written before any run is timed
    sizes = {m: (xlsx_of(path) if m in XLSX_METHODS else path).stat().st_size for m in methods}
    for _ in range(runs):
        for method in methods:  # alternating, so drift hits every method alike
            _empty(scratch)
            seconds[method].append(METHODS[method](scratch, path))
            loaded = _rows_in_table(scratch)
            if loaded != rows:
                raise RuntimeError(f"{method} loaded {loaded} rows, expected {rows}")
    _empty(scratch)
    medians = {m: statistics.median(s) for m, s in seconds.items()}
    figures = {
        m: {
            "seconds": [round(x, 2) for x in s],
            "median_seconds": round(medians[m], 2),
            "rows_per_s": round(rows / medians[m]),
            "mb_per_s": round(sizes[m] / 1e6 / medians[m], 1),
        }
        for m, s in seconds.items()
    }
    ratios = {}
    if "ttw" in medians and "psql \\copy, bare table" in medians:
        ratios["ttw_rate_vs_psql_copy_bare_table"] = round(medians["psql \\copy, bare table"] / medians["ttw"], 2)
    if "ttw" in medians and "psql \\copy" in medians:
        ratios["ttw_rate_vs_psql_copy"] = round(medians["psql \\copy"] / medians["ttw"], 2)
    if "ttw" in medians and "pandas.to_sql" in medians:
        ratios["ttw_rate_vs_to_sql"] = round(medians["pandas.to_sql"] / medians["ttw"], 1)
    if "ttw xlsx" in medians and "openpyxl xlsx" in medians:
        ratios["xlsx_calamine_rate_vs_openpyxl"] = round(medians["openpyxl xlsx"] / medians["ttw xlsx"], 1)
    if "ttw xlsx" in medians and "ttw" in medians:
        ratios["xlsx_rate_vs_csv"] = round(medians["ttw"] / medians["ttw xlsx"], 2)
    return {
        "benchmark": "load",
        "file": {"rows": rows, "megabytes": round(size / 1e6, 1), "encoding": "UTF-8"},
        "xlsx_megabytes": round(sizes["ttw xlsx"] / 1e6, 1) if "ttw xlsx" in sizes else None,
        "runs": runs,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "methods": figures,
        "ratios": ratios,
    }


def run_registry(target: Target, dataset: Path, runs: int = 2) -> dict:
    """The whole registry of a generated dataset: every monthly CSV export through one
    ``ingest_contracts`` call (files side by side), against ``psql \\copy`` of the same files
    one after another into the bare table; alternating, ``runs`` times each. Workbook exports
    are left out of both (psql cannot read them)."""
    scratch = bench_target(target)
    files = [path for month in registry_months(dataset).values() for path in month if path.suffix == ".csv"]
    if not files:
        raise SystemExit(f"no registry CSV exports under {dataset / 'registry'}")
    rows = 0
    seconds: dict[str, list[float]] = {"ttw ingest contracts": [], "psql \\copy, bare table, one after another": []}
    for _ in range(runs):
        _empty(scratch)
        started = time.perf_counter()
        report = ingest_contracts(scratch, files)
        seconds["ttw ingest contracts"].append(time.perf_counter() - started)
        if not report.ok or len(report.batches) != len(files):
            raise RuntimeError(f"ttw load did not load every file: {report.errors[:3]}")
        rows = _rows_in_table(scratch)
        _empty(scratch)
        seconds["psql \\copy, bare table, one after another"].append(sum(run_psql_bare(scratch, f) for f in files))
        if _rows_in_table(scratch) != rows:
            raise RuntimeError("psql \\copy loaded another number of rows")
    _empty(scratch)
    medians = {m: statistics.median(s) for m, s in seconds.items()}
    return {
        "files": len(files),
        "rows": rows,
        "megabytes": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "methods": {
            m: {
                "seconds": [round(x, 2) for x in s],
                "median_seconds": round(medians[m], 2),
                "rows_per_s": round(rows / medians[m]),
            }
            for m, s in seconds.items()
        },
        "ratio": round(medians["psql \\copy, bare table, one after another"] / medians["ttw ingest contracts"], 2),
        "target": TARGET_VS_BARE,
    }
