"""``ttw bench generate``: sample generation throughput and peak memory, stage by stage.

Generation runs in a child process so its peak resident memory is measured on its own.
Each stage is set beside a floor for the same output: the registry rows written by
``csv.writer`` alone, and the platform records by ``json.dumps`` alone. Report workbooks
have no cheaper floor than openpyxl itself, which is what they spend their time in.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from ttw_dev.generate.manifest import totals_by_folder

_CHILD = """
import json, sys
from pathlib import Path

from ttw_dev.generate.manifest import totals_by_folder
from ttw_dev.generate import generate
timings = {}
generate(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=int(sys.argv[3]), years=sys.argv[4], timings=timings)
Path(sys.argv[5]).write_text(json.dumps(timings))
"""


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _csv_floor(rows: int, path: Path) -> float:
    """Seconds for csv.writer alone to write ``rows`` registry-shaped rows."""
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


def _json_floor(records: int, path: Path) -> float:
    """Seconds for json.dumps alone to write ``records`` platform-shaped lines."""
    record = {"id": "ACH2024000001", "updated_at": "2024-03-05T10:23:11+08:00", "deleted": False, "title": "成果" * 8}
    record.update({f"field_{i}": "值" * 6 for i in range(8)})
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(records):
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def run(out: Path, scale: float, seed: int, years: str) -> dict:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: the benchmark writes a fresh dataset")
    out.mkdir(parents=True, exist_ok=True)
    timings_file = out.parent / f"{out.name}.timings.json"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(scale), str(seed), years, str(timings_file)], check=True
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stages = json.loads(timings_file.read_text())
    timings_file.unlink()
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    outputs = totals_by_folder(manifest["files"])
    registry_rows = outputs["registry"]["rows"]
    platform_rows = outputs["platform"]["rows"]
    workbooks = outputs["reports"]["files"]
    csv_floor = _csv_floor(registry_rows, out / "_floor.csv")
    json_floor = _json_floor(platform_rows, out / "_floor.jsonl")
    written = _tree_bytes(out)
    return {
        "benchmark": "generate",
        "command": f"ttw bench generate --scale {scale:g} --seed {seed} --years {years}",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "megabytes_written": round(written / 1e6, 1),
        "mb_per_s": round(written / 1e6 / seconds, 2),
        "stages": {
            "registry": {
                "seconds": stages["registry"],
                "rows": registry_rows,
                "rows_per_s": round(registry_rows / stages["registry"]),
                "floor_csv_writer_seconds": round(csv_floor, 2),
                "ratio_to_floor": round(stages["registry"] / csv_floor, 1),
            },
            "reports": {
                "seconds": stages["reports"],
                "workbooks": workbooks,
                "workbooks_per_s": round(workbooks / stages["reports"], 1),
            },
            "platform": {
                "seconds": stages["platform"],
                "records": platform_rows,
                "records_per_s": round(platform_rows / stages["platform"]),
                "floor_json_dumps_seconds": round(json_floor, 2),
                "ratio_to_floor": round(stages["platform"] / json_floor, 1),
            },
            "centers": {"seconds": stages["centers"], "roster_rows": outputs["centers"]["rows"]},
        },
        "defects": len(manifest["defects"]),
    }
