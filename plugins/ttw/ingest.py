"""Ingest: extract a delivery and load it into ``raw`` as batches, one family per function."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ttw import load
from ttw.errors import TTWError
from ttw.extract import platform as platform_api
from ttw.extract import registry
from ttw.warehouse import Target, connect

REGISTRY_CONTRACTS = load.RawTable("raw", "registry_contracts", registry.COLUMNS)


@dataclass
class IngestReport:
    """What one ingest call did: a result per loaded or skipped file, an error per failed file."""

    batches: list[load.BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

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
    return [
        platform_api.ingest_resource(target, http, base_url, resource, platform=platform, page_size=page_size)
        for resource in (resources or platform_api.RESOURCES)
    ]


def contract_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to the registry exports they hold, in file-name (month) order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("contracts_*.csv"), *path.glob("contracts_*.xlsx")], key=lambda p: p.name))
        else:
            files.append(path)
    return files


def _load_contract_file(conn, path: Path) -> load.BatchResult:
    if path.suffix.lower() == ".xlsx":
        columns, rows = registry.read_xlsx_rows(path)
        content_hash = load.file_sha256(path)
        return load.copy_batch(
            conn,
            REGISTRY_CONTRACTS,
            str(path),
            family="registry_contracts",
            columns=(*columns, "_row_number"),
            chunks=load.csv_chunks([*texts, str(number)] for number, texts in rows),
            content_hash=lambda: content_hash,
        )
    layout = registry.read_csv_layout(path)
    return load.copy_csv_file(
        conn,
        REGISTRY_CONTRACTS,
        path,
        family="registry_contracts",
        columns=layout.columns,
        encoding=layout.encoding,
        skip_bytes=layout.bom_bytes,
    )


def ingest_contracts(target: Target, paths: Iterable[Path]) -> IngestReport:
    """Load contract registry exports (CSV or xlsx); a bad file is reported and the others still load."""
    report = IngestReport()
    # autocommit: each file's batch transaction is a real commit (see load.copy_csv_file)
    with connect(target, autocommit=True) as conn:
        load.ensure_ops(conn)
        load.ensure_raw_table(conn, REGISTRY_CONTRACTS)
        for path in contract_files(paths):
            try:
                result = _load_contract_file(conn, path)
            except TTWError as exc:
                report.errors.append(str(exc))
            else:
                report.batches.append(result)
    return report
