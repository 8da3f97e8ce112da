"""Ingest: extract a delivery and load it into ``raw`` as batches, one family per function."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from ttw import load, sources
from ttw.errors import TTWError
from ttw.extract import platform as platform_api
from ttw.extract import registry, reports
from ttw.settings import get_settings
from ttw.warehouse import Target, connect

# the raw tables of the file families, as the source registry declares them
REGISTRY_CONTRACTS = sources.REGISTRY_CONTRACTS.table
CENTER_ROSTER = sources.CENTER_ROSTER.table
REPORT_TABLES = sources.CENTER_REPORTS.tables
REPORT_FIELDS, REPORT_INDICATORS, REPORT_ACHIEVEMENTS, REPORT_PLANS = REPORT_TABLES


# a file NAME.done beside a delivery NAME says the delivery is complete: it is taken at once
MARKER = ".done"
# where a file rejected whole goes, in its family's landing folder (with NAME.reason.txt):
# never scanned, so the next run does not fail on it again
REJECTED = "_rejected"


@dataclass
class Landing:
    """What a look at the delivery paths found: the files to load, and all it set aside, by
    name. ``errors`` and ``notes`` say it in a line per path."""

    files: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)  # links leading out of their folder: never followed
    not_regular: list[Path] = field(default_factory=list)  # FIFOs, sockets, devices, folders: never opened
    waiting: list[Path] = field(default_factory=list)  # still being written: the next run takes them
    not_deliveries: list[Path] = field(default_factory=list)  # named like no delivery: never read
    roots: dict[Path, Path] = field(default_factory=dict)  # a file taken -> the folder it must stay in
    # a file taken from a folder under the landing root -> the _rejected folder it moves to if rejected whole
    rejected_to: dict[Path, Path] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """What one ingest call did: a result per loaded or skipped file, an error per failed file,
    and what the landing folder held that was not loaded (see :class:`Landing`)."""

    batches: list[load.BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be loaded at all, links refused
    problems: list[str] = field(default_factory=list)  # loaded, with parts kept in ops.load_rejects
    landing: Landing = field(default_factory=Landing)
    notes: list[str] = field(default_factory=list)  # set aside, not errors: waiting, skipped, not a delivery

    @classmethod
    def of(cls, landing: Landing) -> IngestReport:
        return cls(errors=list(landing.errors), landing=landing, notes=list(landing.notes))

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
    max_pages: int = platform_api.MAX_PAGES,
    future_tolerance: dt.timedelta = platform_api.FUTURE_TOLERANCE,
) -> list[platform_api.ResourceRun]:
    """Read every resource (or those named) of one platform from its watermark onwards."""
    http = platform_api.session(token)
    runs = [
        platform_api.ingest_resource(
            target,
            http,
            base_url,
            resource,
            platform=platform,
            page_size=page_size,
            max_pages=max_pages,
            future_tolerance=future_tolerance,
        )
        for resource in (resources or platform_api.RESOURCES)
    ]
    if any(run.loaded for run in runs):
        with connect(target, autocommit=True) as conn:
            load.analyze(conn, [sources.PLATFORM_RECORDS.table.ident])
    return runs


def ensure_raw_tables(target: Target) -> None:
    """Every raw and ops table the loaders write (empty until something lands): dbt reads them all."""
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        for table in sources.FILE_TABLES:
            load.ensure_raw_table(conn, table)
        platform_api.ensure_platform_tables(conn)


def deliveries(paths: Iterable[Path], *patterns: str) -> list[Path]:
    """The delivery files among ``paths`` (see :func:`scan_deliveries`), in name order."""
    return scan_deliveries(paths, patterns).files


def _entries(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(path, the folder it must stay in) for each file given, and for everything under each
    folder given (recursively; links to folders are not descended), in name order."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if not path.is_dir():
            found.append((path, path.parent))
            continue
        for folder, dirs, files in os.walk(path):
            found.extend((Path(folder, name), path) for name in files)
            found.extend((Path(folder, name), path) for name in dirs if Path(folder, name).is_symlink())
    return sorted(found, key=lambda entry: (entry[0].name, str(entry[0])))


_KINDS = {stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a folder", stat.S_ISCHR: "a device"}


def scan_deliveries(
    paths: Iterable[Path],
    patterns: Iterable[str],
    *,
    settle: float = 0,
    only: Callable[[Path], bool] | None = None,
    landing_root: Path | None = None,
) -> Landing:
    """Look at delivery paths (files, or folders searched recursively) without reading a file.

    A delivery is a regular file named like one of ``patterns`` (and, with ``only``, one it
    accepts), staying inside the folder it was found in (a named file: its own folder). Set
    aside, each by name: a link leading out of that folder (refused, an error); anything not
    a regular file, such as a FIFO (skipped); with ``settle`` seconds, a delivery modified
    more recently than that, unless ``NAME.done`` is beside it (waiting: the next run takes
    it); and a file named like no delivery (not a delivery, never read; a marker is not
    listed). A path that cannot be looked at is left to the loader, which says why. A
    ``_rejected`` folder (files rejected before) is not looked into.

    A delivery found in a folder under the landing root (``landing_root``, default
    ``$TTW_HOME/landing``: what the DAGs read) is noted in ``rejected_to`` with the
    ``_rejected`` folder of its family's landing folder, where it goes if it is rejected
    whole; a file named itself, or found elsewhere, stays where it is.
    """
    paths, patterns = list(paths), tuple(patterns)
    landing = Landing()
    now = time.time()
    named = {path for path in paths if not path.is_dir()}
    landing_root = (landing_root or get_settings().landing_dir).resolve()
    for path, root in _entries(paths):
        if REJECTED in path.relative_to(root).parts:  # set aside before: never read again
            continue
        if not path.exists() and not path.is_symlink():  # a path given that is not there
            landing.files.append(path)
            continue
        like = is_named_like(path.name, patterns)
        # a link named like a delivery, or to a folder, must stay inside; others are no delivery
        refusal = link_refusal(path, root, patterns) if like or path.is_dir() else None
        if refusal is not None:
            landing.refused.append(path)
            landing.errors.append(refusal)
            continue
        if not like:
            marker = path.name.endswith(MARKER) and is_named_like(path.name[: -len(MARKER)], patterns)
            if not marker and not path.is_dir():
                landing.not_deliveries.append(path)
                landing.notes.append(f"not a delivery: {path}")
            continue
        if only is not None and not only(path):
            continue
        try:
            mode, modified = path.stat().st_mode, path.stat().st_mtime
        except OSError:
            landing.files.append(path)
            continue
        age = max(0.0, now - modified)  # a time in the future (clock skew) counts as just now
        if not stat.S_ISREG(mode):
            kind = next((k for test, k in _KINDS.items() if test(mode)), "a special file")
            landing.not_regular.append(path)
            landing.notes.append(f"skipped: {path} is not a regular file ({kind})")
        elif settle > 0 and age < settle and not path.with_name(path.name + MARKER).exists():
            landing.waiting.append(path)
            landing.notes.append(
                f"waiting: {path} (modified {age:.0f} s ago; taken once unchanged for {settle:g} s,"
                f" or when {path.name}{MARKER} is beside it)"
            )
        else:
            landing.files.append(path)
            landing.roots[path] = root
            if path not in named and (folder := _rejected_folder(path, landing_root)) is not None:
                landing.rejected_to[path] = folder
    return landing


def _rejected_folder(path: Path, landing_root: Path) -> Path | None:
    """``landing_root/<family folder>/_rejected`` for a file under the landing root (its
    family folder: the first folder below the root), else None."""
    try:
        below = path.parent.resolve().relative_to(landing_root)
    except (OSError, ValueError):
        return None
    return landing_root.joinpath(*below.parts[:1], REJECTED)


def is_named_like(name: str, patterns: Iterable[str]) -> bool:
    """Whether a file name matches a delivery pattern (the suffix in any case: ``.CSV``)."""
    return any(fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns)


def link_refusal(path: Path, root: Path, patterns: Iterable[str]) -> str | None:
    """Why a link at ``path`` may not be read, or None when it is no link or may be: a link
    that leads out of ``root``, loops, or leads to a file named like no delivery."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=False)
    except (OSError, RuntimeError):  # a loop of links
        return f"refused: {path} is a link that leads nowhere (a loop of links)"
    if not target.is_relative_to(root.resolve()):
        return f"refused: {path} is a link to outside {root}"
    if not target.is_dir() and not is_named_like(target.name, patterns):
        return f"refused: {path} is a link to {target.name}, which is not a delivery"
    return None


def moved_since_scan(path: Path, landing: Landing, patterns: Iterable[str]) -> str | None:
    """A delivery the scan took that has since become a link it would refuse (checked just
    before the file is opened, so a link swapped in after the scan is never read)."""
    root = landing.roots.get(path)
    return None if root is None else link_refusal(path, root, patterns)


def _load_contract_file(conn, path: Path, more=None, chunks: int = 1) -> load.BatchResult:
    if path.suffix.lower() in registry.WORKBOOK_SUFFIXES:
        nul: list[tuple[int, str, list[str]]] = []  # rows left out: a cell holding NUL
        columns, rows = registry.read_xlsx_rows(path, nul)
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
            family=sources.REGISTRY_CONTRACTS.name,
            columns=(*columns, "_row_number"),
            chunks=load.csv_chunks(numbered()),
            content_hash=load.file_sha256(path),
            records=lambda _copied: read,
            rejected=lambda: [
                load.RejectedRow(number, cell, "nul_byte", f"cell {cell} {registry.NUL_REASON}", fields)
                for number, cell, fields in nul
            ],
        )
    layout = registry.read_csv_layout(path)
    return _copy_csv(conn, REGISTRY_CONTRACTS, sources.REGISTRY_CONTRACTS.name, layout, more=more, chunks=chunks)


def _copy_csv(
    conn, table: load.RawTable, family: str, layout: registry.CsvLayout, *, more=None, chunks: int = 1
) -> load.BatchResult:
    return load.copy_csv_file(
        conn,
        table,
        layout.path,
        family=family,
        columns=layout.columns,
        encoding=layout.encoding,
        skip_bytes=layout.bom_bytes,
        more=more,
        chunks_wanted=chunks,
    )


# what reading a file may raise besides a TTWError: the file's fault, never a reason to stop
UNREADABLE = (csv.Error, OSError, UnicodeError, ValueError)


def _load_each(
    conn,
    report: IngestReport,
    family: str,
    patterns: Iterable[str],
    load_one: Callable[[Path], load.BatchResult],
    files: Iterable[Path] | None = None,
    guard: threading.Lock | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Load the files the scan took (or ``files``), one by one: a file at fault (whatever its
    reader raised) is kept in ops.load_rejects with why and the others still load; a file that
    has become a link the scan would refuse is refused unread; a failure of the warehouse
    stops the run (the rest waits for the rerun). Loaders side by side share ``report``
    under ``guard`` and stop on ``stop``."""
    guard = guard or contextlib.nullcontext()
    stop = stop or threading.Event()
    for path in report.landing.files if files is None else files:
        if stop.is_set():
            return
        if (refusal := moved_since_scan(path, report.landing, patterns)) is not None:
            with guard:
                report.landing.refused.append(path)
                report.errors.append(refusal)
            continue
        try:
            try:
                batch = load_one(path)
                with guard:
                    report.add(batch)
                continue
            except load.WarehouseFault:
                raise
            except TTWError as exc:
                rule, reason = exc.rule or "file_rejected", str(exc)
            except UNREADABLE as exc:
                rule, reason = "file_rejected", f"{path}: the file cannot be read ({type(exc).__name__}: {exc})"
            with guard:
                reject_file(conn, report, family, path, rule, reason)
        except load.WarehouseFault as exc:
            stop.set()
            with guard:
                report.errors.append(str(exc))
            return


def load_workers() -> int:
    """Connections a registry ingest loads on side by side: one per core (COPY parses a
    stream on one core of the server)."""
    return max(1, os.cpu_count() or 1)


def _load_side_by_side(target: Target, report: IngestReport, workers: int) -> None:
    """Load the registry files the scan took on ``workers`` connections, each file one batch
    on one of them (in name order, taken as each connection is free)."""
    waiting: queue.SimpleQueue[Path] = queue.SimpleQueue()
    for path in report.landing.files:
        waiting.put(path)
    guard, stop = threading.Lock(), threading.Event()

    def taken() -> Iterator[Path]:
        while True:
            try:
                yield waiting.get_nowait()
            except queue.Empty:
                return

    def worker() -> None:
        try:
            with connect(target, autocommit=True) as conn:
                _load_each(
                    conn,
                    report,
                    sources.REGISTRY_CONTRACTS.name,
                    registry.PATTERNS,
                    lambda path: _load_contract_file(conn, path),
                    files=taken(),
                    guard=guard,
                    stop=stop,
                )
        except TTWError as exc:  # the warehouse could not be reached
            stop.set()
            with guard:
                report.errors.append(str(exc))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(workers, len(report.landing.files)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order = {str(path): n for n, path in enumerate(report.landing.files)}
    report.batches.sort(key=lambda batch: order.get(batch.source, len(order)))


def reject_file(conn, report: IngestReport, family: str, path: Path, rule: str, reason: str) -> None:
    """A file rejected whole: kept in ops.load_rejects with why, reported, and, when it was
    found in a landing folder, moved to that folder's ``_rejected/`` with ``NAME.reason.txt``
    (and its ``NAME.done``), so the next run does not read it again. A file that cannot be
    moved stays, with a warning in the report's notes."""
    load.record_file_reject(conn, family, path, rule, reason)
    folder = report.landing.rejected_to.get(path)
    if folder is None or not path.exists():
        report.errors.append(reason)
        return
    try:
        moved = _move_rejected(path, folder, rule, reason)
    except OSError as exc:
        report.errors.append(reason)
        report.notes.append(
            f"warning: {path} could not be moved to {folder} ({exc.strerror or exc}); it stays, and the next run"
            " rejects it again"
        )
        return
    report.errors.append(f"{reason} (moved to {moved}, with why in {moved.name}.reason.txt)")


NOTHING_LOADED = "Nothing of this file was loaded; ops.load_rejects keeps the rejection."


def set_aside(path: Path, landing_root: Path, rule: str, reason: str, note: str) -> Path | None:
    """Move a file found under the landing root to its family folder's ``_rejected/`` (see
    :func:`_move_rejected`); None when it is not under the root or no longer there."""
    folder = _rejected_folder(path, landing_root.resolve())
    if folder is None or not path.is_file():
        return None
    return _move_rejected(path, folder, rule, reason, note)


def _move_rejected(path: Path, folder: Path, rule: str, reason: str, note: str = NOTHING_LOADED) -> Path:
    """Move a rejected file (and its marker) into ``folder`` under a name not taken there;
    write ``NAME.reason.txt`` beside it (``note``: what became of its content). The new path."""
    folder.mkdir(exist_ok=True)
    moved, n = folder / path.name, 1
    while moved.exists() or moved.with_name(moved.name + ".reason.txt").exists():
        n += 1
        moved = folder / f"{path.stem}~{n}{path.suffix}"
    os.rename(path, moved)
    marker = path.with_name(path.name + MARKER)
    if marker.exists():
        os.rename(marker, moved.with_name(moved.name + MARKER))
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    moved.with_name(moved.name + ".reason.txt").write_text(
        f"rejected at {when}\nrule: {rule}\ndelivered as: {path}\nmessage: {reason}\n\n"
        f"{note} Deliver a corrected file\n"
        f"into {folder.parent} (the same name will do); this folder is never read.\n",
        encoding="utf-8",
    )
    return moved


ROSTER_PATTERNS = sources.CENTER_ROSTER.landing.patterns


def ingest_contracts(
    target: Target,
    paths: Iterable[Path],
    *,
    settle: float = 0,
    only: Callable[[Path], bool] | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Load contract registry exports (CSV or workbooks); a bad file is reported and the others
    still load. ``settle`` and ``only``: see :func:`scan_deliveries`. Files load side by side
    on ``workers`` connections (default :func:`load_workers`), each one batch; a single large
    CSV goes as that many chunks of one batch (:func:`ttw.load.copy_numbered`)."""
    found = scan_deliveries(paths, registry.PATTERNS, settle=settle, only=only)
    report = IngestReport.of(found)
    # files side by side only when asked: batch ids then follow the order loads start, not
    # file order, and the build takes a contract's latest version by batch id; by default
    # files load in name order, each large one as chunks on one connection per core
    side_by_side = workers is not None and workers > 1
    workers = max(1, workers or load_workers())
    # autocommit: each file's batch transaction is a real commit (see load.copy_csv_file)
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        load.ensure_raw_table(conn, REGISTRY_CONTRACTS)
        load.sweep_unledgered(conn, REGISTRY_CONTRACTS)
        if side_by_side and len(found.files) > 1:
            _load_side_by_side(target, report, workers)
        else:  # one file after another: a large one goes as chunks on ``workers`` connections
            _load_each(
                conn,
                report,
                sources.REGISTRY_CONTRACTS.name,
                registry.PATTERNS,
                lambda path: _load_contract_file(
                    conn, path, more=lambda: connect(target, autocommit=True), chunks=workers
                ),
            )
        if report.rows_loaded and not conn.closed:
            # the row count the build plans with, and the batch column its incremental
            # models filter on: every text column's statistics cost seconds a million rows
            load.analyze(conn, [REGISTRY_CONTRACTS.ident], columns=("_batch_id",))
    return report


def ingest_csv_family(
    target: Target,
    family: sources.SourceFamily,
    paths: Iterable[Path],
    *,
    settle: float = 0,
    only: Callable[[Path], bool] | None = None,
) -> IngestReport:
    """Load a CSV family's deliveries into its raw table as the source registry declares it:
    one batch a file, the header in canonical names or the family's labels, every column
    the family marks ``header_required`` present. ``settle`` and ``only``: see :func:`scan_deliveries`."""
    table, patterns = family.table, family.landing.patterns

    def load_file(conn, path: Path) -> load.BatchResult:
        layout = registry.read_csv_layout(
            path, known=table.columns, required=family.header_required, labels=family.labels
        )
        return _copy_csv(conn, table, family.name, layout)

    found = scan_deliveries(paths, patterns, settle=settle, only=only)
    report = IngestReport.of(found)
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        load.ensure_raw_table(conn, table)
        _load_each(conn, report, family.name, patterns, lambda path: load_file(conn, path))
        if report.rows_loaded and not conn.closed:
            load.analyze(conn, [table.ident])
    return report


def ingest_centers(
    target: Target, paths: Iterable[Path], *, settle: float = 0, only: Callable[[Path], bool] | None = None
) -> IngestReport:
    """Load center rosters (centers_YYYY.csv, canonical headers) into raw.center_roster."""
    return ingest_csv_family(target, sources.CENTER_ROSTER, paths, settle=settle, only=only)


def _read_workbook(path: Path) -> tuple[Path, str, reports.Report | None, tuple[str, str] | None]:
    """One workbook as (path, SHA-256, what it holds, None), or (path, "", None, (rule, error))
    when it cannot be read."""
    try:
        return path, load.file_sha256(path), reports.read_report(path), None
    except TTWError as exc:
        return path, "", None, (exc.rule or "unreadable_file", str(exc))
    except OSError as exc:  # gone since the scan, a dangling link, no permission
        return path, "", None, ("unreadable_file", f"{path}: cannot read file: {exc.strerror or exc}")


def read_workbooks(paths: list[Path]) -> Iterator[tuple[Path, str, reports.Report | None, tuple[str, str] | None]]:
    """:func:`_read_workbook` over ``paths``, in their order, one at a time as the caller
    asks (so at most one workbook read ahead of the loader).

    The workbooks are read here, in the calling process. Worker processes were dropped for
    two reasons, both measured (docs/benchmarks.md,
    "report workbooks: one process or a pool"). They no longer pay: python-calamine reads a
    workbook in about 2 ms, the load that follows (COPY of four tables, the ledger, one
    commit) costs more than the read, and on two cores a second reader competes with the
    database server for the other core; 3,962 workbooks ingested at 167 workbooks/s in one
    process against 151 with two readers. And they fail in an Airflow task: the task runner's
    ``__main__`` is ``bin/airflow``, a child started by "spawn" or "forkserver" re-imports it,
    and so imports airflow under the ``airflow-db-not-allowed:///`` database URL the task
    process is given, and dies (BrokenProcessPool on every try); a forked child would inherit
    the task's threads and sockets. One process reads the same under LocalExecutor,
    CeleryExecutor, ``dag.test()`` and the CLI.
    """
    return map(_read_workbook, paths)


def ingest_reports(
    target: Target,
    paths: Iterable[Path],
    *,
    settle: float = 0,
    only: Callable[[Path], bool] | None = None,
) -> IngestReport:
    """Load annual report workbooks, one batch each, in file order, read in this process
    (:func:`read_workbooks`); a missing sheet is kept in ops.load_rejects. ``settle`` and
    ``only``: see :func:`scan_deliveries`."""
    found = scan_deliveries(paths, reports.PATTERNS, settle=settle, only=only)
    report = IngestReport.of(found)
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        for table in REPORT_TABLES:
            load.ensure_raw_table(conn, table)
        for path, content_hash, workbook, error in read_workbooks(found.files):
            if (refusal := moved_since_scan(path, found, reports.PATTERNS)) is not None:
                found.refused.append(path)
                report.errors.append(refusal)
                continue
            try:
                if workbook is None:
                    rule, reason = error
                    reject_file(conn, report, sources.CENTER_REPORTS.name, path, rule, reason)
                    continue
                batch = load.copy_rows_batch(
                    conn,
                    str(path),
                    family=sources.CENTER_REPORTS.name,
                    content_hash=content_hash,
                    parts=[
                        (REPORT_FIELDS, workbook.fields),
                        (REPORT_INDICATORS, workbook.indicators),
                        (REPORT_ACHIEVEMENTS, workbook.achievements),
                        (REPORT_PLANS, workbook.plans),
                    ],
                    problems=workbook.problems,
                    rejected=[
                        load.RejectedRow(row, cell, rule, reason, []) for rule, reason, cell, row in workbook.rejected
                    ],
                )
            except load.WarehouseFault as exc:
                report.errors.append(str(exc))
                break
            except load.CopyDataError as exc:  # a server limit the workbook passes: its own fault
                reject_file(conn, report, sources.CENTER_REPORTS.name, path, "file_rejected", str(exc))
                continue
            report.add(batch)
            report.problems.extend(f"{path}: {reason}" for _, reason, _ in workbook.problems)
        if report.rows_loaded and not conn.closed:
            load.analyze(conn, [table.ident for table in REPORT_TABLES])
    return report
