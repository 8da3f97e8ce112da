"""Ingest: extract a delivery and load it into ``raw`` as batches, one family per function."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from ttw import load
from ttw.errors import TTWError
from ttw.extract import platform as platform_api
from ttw.extract import registry, reports
from ttw.warehouse import Target, connect

REGISTRY_CONTRACTS = load.RawTable("raw", "registry_contracts", registry.COLUMNS)
CENTER_ROSTER = load.RawTable("raw", "center_roster", reports.ROSTER_COLUMNS)
REPORT_FIELDS = load.RawTable("raw", "report_fields", ("label", "value", "cell"))
REPORT_INDICATORS = load.RawTable("raw", "report_indicators", ("indicator", "unit", "value", "cell"))
REPORT_ACHIEVEMENTS = load.RawTable(
    "raw", "report_achievements", ("achievement_name", "achievement_type", "completed", "note", "cell")
)
REPORT_PLANS = load.RawTable("raw", "report_plans", ("text", "cell"))
REPORT_TABLES = (REPORT_FIELDS, REPORT_INDICATORS, REPORT_ACHIEVEMENTS, REPORT_PLANS)


@dataclass
class IngestReport:
    """What one ingest call did: a result per loaded or skipped file, an error per failed file."""

    batches: list[load.BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be loaded at all
    problems: list[str] = field(default_factory=list)  # loaded, with parts kept in ops.load_rejects

    def add(self, batch: load.BatchResult) -> None:
        self.batches.append(batch)
        self.problems.extend(batch.problems)

    @property
    def rows_loaded(self) -> int:
        return sum(b.rows_loaded for b in self.batches)

    @property
    def ok(self) -> bool:
        return not self.errors


def ingest_platform(
    target: Target,
    base_url: str,
    token: str,
    *,
    resources: Iterable[str] | None = None,
    platform: str | None = None,
    page_size: int = 500,
) -> list[platform_api.ResourceRun]:
    """Read every resource (or those named) of one platform from its watermark onwards."""
    http = platform_api.session(token)
    runs = [
        platform_api.ingest_resource(target, http, base_url, resource, platform=platform, page_size=page_size)
        for resource in (resources or platform_api.RESOURCES)
    ]
    if any(run.loaded for run in runs):
        with connect(target, autocommit=True) as conn:
            load.analyze(conn, [sql.Identifier("raw", "platform_records")])
    return runs


def ensure_raw_tables(target: Target) -> None:
    """Every raw and ops table the loaders write (empty until something lands): dbt reads them all."""
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        for table in (REGISTRY_CONTRACTS, CENTER_ROSTER, *REPORT_TABLES):
            load.ensure_raw_table(conn, table)
        platform_api.ensure_platform_tables(conn)


def deliveries(paths: Iterable[Path], *patterns: str) -> list[Path]:
    """Files as given, folders expanded (recursively) to the files matching ``patterns``, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted((f for pattern in patterns for f in path.rglob(pattern)), key=lambda f: (f.name, str(f)))
            )
        else:
            found.append(path)
    return found


def _load_contract_file(conn, path: Path) -> load.BatchResult:
    if path.suffix.lower() in registry.WORKBOOK_SUFFIXES:
        columns, rows = registry.read_xlsx_rows(path)
        read = 0

        def numbered():
            nonlocal read
            for number, texts in rows:
                read += 1
                yield [*texts, str(number)]

        return load.copy_batch(
            conn,
            REGISTRY_CONTRACTS,
            str(path),
            family="registry_contracts",
            columns=(*columns, "_row_number"),
            chunks=load.csv_chunks(numbered()),
            content_hash=load.file_sha256(path),
            records=lambda _copied: read,
        )
    return _copy_csv(conn, REGISTRY_CONTRACTS, "registry_contracts", registry.read_csv_layout(path))


def _copy_csv(conn, table: load.RawTable, family: str, layout: registry.CsvLayout) -> load.BatchResult:
    return load.copy_csv_file(
        conn,
        table,
        layout.path,
        family=family,
        columns=layout.columns,
        encoding=layout.encoding,
        skip_bytes=layout.bom_bytes,
    )


def _load_each(
    conn, report: IngestReport, family: str, paths: list[Path], load_one: Callable[[Path], load.BatchResult]
) -> None:
    """Load files one by one: a file at fault is kept in ops.load_rejects with why and the others
    still load; a failure of the warehouse stops the run (the rest waits for the rerun)."""
    for path in paths:
        try:
            try:
                report.add(load_one(path))
            except load.WarehouseFault:
                raise
            except TTWError as exc:
                load.record_file_reject(conn, family, path, "file_rejected", str(exc))
                report.errors.append(str(exc))
        except load.WarehouseFault as exc:
            report.errors.append(str(exc))
            return


def _load_roster(conn, path: Path) -> load.BatchResult:
    layout = registry.read_csv_layout(path, known=reports.ROSTER_COLUMNS, required=reports.ROSTER_COLUMNS, labels={})
    return _copy_csv(conn, CENTER_ROSTER, "center_roster", layout)


def ingest_contracts(target: Target, paths: Iterable[Path]) -> IngestReport:
    """Load contract registry exports (CSV or xlsx); a bad file is reported and the others still load."""
    report = IngestReport()
    # autocommit: each file's batch transaction is a real commit (see load.copy_csv_file)
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        load.ensure_raw_table(conn, REGISTRY_CONTRACTS)
        files = deliveries(paths, *registry.PATTERNS)
        _load_each(conn, report, "registry_contracts", files, lambda path: _load_contract_file(conn, path))
        if report.rows_loaded and not conn.closed:
            load.analyze(conn, [REGISTRY_CONTRACTS.ident])
    return report


def ingest_centers(target: Target, paths: Iterable[Path]) -> IngestReport:
    """Load center rosters (centers_YYYY.csv, canonical headers) into raw.center_roster."""
    report = IngestReport()
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        load.ensure_raw_table(conn, CENTER_ROSTER)
        _load_each(
            conn, report, "center_roster", deliveries(paths, "centers_*.csv"), lambda path: _load_roster(conn, path)
        )
        if report.rows_loaded and not conn.closed:
            load.analyze(conn, [CENTER_ROSTER.ident])
    return report


# Workbooks per worker task, and the fewest that are worth starting worker processes for
REPORTS_PER_TASK = 32
PARALLEL_FROM = 4 * REPORTS_PER_TASK


def _read_workbook(path: Path) -> tuple[Path, str, reports.Report | None, str | None]:
    """One workbook as (path, SHA-256, what it holds, None), or (path, "", None, the error)
    when it cannot be read; a plain function, so a worker process can run it."""
    try:
        return path, load.file_sha256(path), reports.read_report(path), None
    except TTWError as exc:
        return path, "", None, str(exc)


def read_workbooks(
    paths: list[Path], workers: int | None = None
) -> Iterator[tuple[Path, str, reports.Report | None, str | None]]:
    """:func:`_read_workbook` over ``paths``, in their order.

    Parsing xlsx is CPU-bound Python, and it, not COPY, bounds the reports' ingest: many
    workbooks are read by ``workers`` processes (default: one per core) while the caller
    loads those already read. Few are read here, where starting processes would cost more.
    """
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(paths) < PARALLEL_FROM:
        yield from map(_read_workbook, paths)
        return
    # forkserver: workers start from a clean interpreter, not a fork of a caller that may
    # hold threads and sockets (an Airflow task, a database connection)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for start in range(0, len(paths), PARALLEL_FROM * workers):  # bounded read-ahead
            window = paths[start : start + PARALLEL_FROM * workers]
            yield from pool.map(_read_workbook, window, chunksize=REPORTS_PER_TASK)


def ingest_reports(target: Target, paths: Iterable[Path], *, workers: int | None = None) -> IngestReport:
    """Load annual report workbooks, one batch each, in file order; a missing sheet is kept
    in ops.load_rejects. ``workers``: processes that read the workbooks (default: one per core)."""
    report = IngestReport()
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        for table in REPORT_TABLES:
            load.ensure_raw_table(conn, table)
        for path, content_hash, workbook, error in read_workbooks(deliveries(paths, *reports.PATTERNS), workers):
            try:
                if workbook is None:
                    load.record_file_reject(conn, "center_reports", path, "unreadable_file", error)
                    report.errors.append(error)
                    continue
                batch = load.copy_rows_batch(
                    conn,
                    str(path),
                    family="center_reports",
                    content_hash=content_hash,
                    parts=[
                        (REPORT_FIELDS, workbook.fields),
                        (REPORT_INDICATORS, workbook.indicators),
                        (REPORT_ACHIEVEMENTS, workbook.achievements),
                        (REPORT_PLANS, workbook.plans),
                    ],
                    problems=workbook.problems,
                )
            except load.WarehouseFault as exc:
                report.errors.append(str(exc))
                break
            report.batches.append(batch)
            report.problems.extend(f"{path}: {reason}" for _, reason, _ in workbook.problems)
        if report.rows_loaded and not conn.closed:
            load.analyze(conn, [table.ident for table in REPORT_TABLES])
    return report
