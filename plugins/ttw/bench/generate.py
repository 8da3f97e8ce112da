"""``ttw bench generate``: sample generation throughput and peak memory.

Generation runs in a child process (``ttw generate``) so its peak resident memory is
measured on its own. Throughput is reported per kind of output and in MB/s written; the
reference beside it is the same number of CSV rows written by ``csv.writer`` alone, the
floor cost of the registry files.
"""

from __future__ import annotations

import csv
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _csv_floor(rows: int, path: Path) -> float:
    """Seconds for csv.writer alone to write ``rows`` registry-sized rows."""
    row = ["2024370202000001", "海洋传感器关键技术开发", "技术开发", "委托开发", "2024-03-26", "2024-03-28"] + [
        "x" * 12
    ] * 16
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for _ in range(rows):
            writer.writerow(row)
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def run(out: Path, scale: float, seed: int, years: str) -> dict:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: the benchmark writes a fresh dataset")
    ttw = str(Path(sys.executable).with_name("ttw"))
    command = [ttw, "generate", "--out", str(out), "--scale", str(scale), "--seed", str(seed), "--years", years]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    by_folder: dict[str, dict[str, int]] = {}
    for relpath, rows in manifest["files"].items():
        folder = by_folder.setdefault(relpath.split("/")[0], {"files": 0, "rows": 0})
        folder["files"] += 1
        folder["rows"] += rows
    written = _tree_bytes(out)
    registry_rows = by_folder.get("registry", {}).get("rows", 0)
    floor = _csv_floor(registry_rows, out / "_csv_floor.csv")
    return {
        "benchmark": "generate",
        "command": " ".join(["ttw", "bench", "generate", "--scale", str(scale), "--seed", str(seed), "--years", years]),
        "machine": {
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
            "system": platform.platform(),
        },
        "scale": scale,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "bytes_written": written,
        "mb_per_s": round(written / 1e6 / seconds, 2),
        "outputs": by_folder,
        "registry_rows_per_s": round(registry_rows / seconds),
        "report_workbooks_per_s": round(by_folder.get("reports", {}).get("files", 0) / seconds, 1),
        "reference_csv_writer_seconds_for_registry_rows": round(floor, 2),
        "ratio_generate_to_csv_floor": round(seconds / floor, 1) if floor else None,
        "defects": len(manifest["defects"]),
    }
