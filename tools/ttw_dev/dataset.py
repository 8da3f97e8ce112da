"""The extract-and-load half of the main job over a generated dataset.

``ttw generate`` writes what upstream delivers: registry exports, rosters, report
workbooks and the platforms' records. :func:`ingest_dataset` loads all of it the way
production does — files through the ingest commands, platform records over HTTP from the
sample server on a loopback port — so the demo, tests and benchmarks share one path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ttw.ingest import (
    MARKER,
    IngestReport,
    ingest_centers,
    ingest_contracts,
    ingest_platform,
    ingest_reports,
)
from ttw.sources import LANDING, landed_files
from ttw.warehouse import Target


@dataclass
class DatasetIngest:
    files: dict[str, IngestReport] = field(default_factory=dict)
    platform_records: dict[str, int] = field(default_factory=dict)  # "platform/resource" -> versions loaded

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.files.values())


def platform_resources(root: Path) -> dict[str, list[str]]:
    """Platform -> the resources the dataset has records for (``platform/{p}/{r}.jsonl``)."""
    found: dict[str, list[str]] = {}
    for path in sorted((root / "platform").glob("*/*.jsonl")):
        found.setdefault(path.parent.name, []).append(path.stem)
    return found


def registry_months(root: Path) -> dict[str, list[Path]]:
    """Export month (YYYYMM) -> the dataset's registry files for it, oldest month first."""
    months: dict[str, list[Path]] = {}
    for path in landed_files(root / "registry", "contracts"):
        if match := LANDING["contracts"].period.search(path.name):
            months.setdefault(match.group(1), []).append(path)
    return dict(sorted(months.items()))


def land_dataset(root: Path, landing: Path) -> dict[str, int]:
    """Copy a generated dataset's files into the landing folders, as upstream delivers them:
    each file, then its marker ``NAME.done`` (it is complete: an ingest need not wait for it)."""
    import shutil

    sources = {"contracts": root / "registry", "centers": root / "centers", "reports": root / "reports"}
    copied: dict[str, int] = {}
    for family, source in sources.items():
        folder = landing / LANDING[family].folder
        folder.mkdir(parents=True, exist_ok=True)
        files = landed_files(source, family)
        for path in files:
            shutil.copy2(path, folder / path.name)
            (folder / f"{path.name}{MARKER}").touch()
        copied[family] = len(files)
    return copied


def ingest_dataset(target: Target, root: Path, *, platforms: bool = True, hold_back_months: int = 0) -> DatasetIngest:
    """Load a generated dataset: registry, rosters, reports, then every platform over HTTP.

    ``hold_back_months`` leaves the newest registry months out, to be delivered later
    (:func:`registry_months` lists them), as when the warehouse is a month behind.
    """
    from ttw_dev.platform_server import serve

    result = DatasetIngest()
    months = list(registry_months(root).values())
    kept = months[: len(months) - hold_back_months] if hold_back_months else months
    result.files["contracts"] = ingest_contracts(target, [path for files in kept for path in files])
    result.files["centers"] = ingest_centers(target, [root / "centers"])
    result.files["reports"] = ingest_reports(target, [root / "reports"])
    resources = platform_resources(root) if platforms else {}
    if resources:
        token = secrets.token_urlsafe(16)
        server = serve(root, port=0, token=token)
        server.start_background()
        try:
            host, port = server.server_address[:2]
            for platform, names in resources.items():
                runs = ingest_platform(target, f"http://{host}:{port}/{platform}", token, resources=names)
                for run in runs:
                    result.platform_records[f"{platform}/{run.resource}"] = run.loaded
        finally:
            server.shutdown()
            server.server_close()
    return result
