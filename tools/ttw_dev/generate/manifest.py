"""``_manifest.json``: what a generated dataset holds, and every defect put in on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# defect kinds, with what the pipeline is expected to say about them
DEFECT_KINDS = {
    "tech_amount_exceeds_contract": "技术交易额 above 合同成交额",
    "non_positive_amount": "合同成交额 zero or negative",
    "unknown_region_code": "a region code that is not GB/T 2260",
    "malformed_credit_code": "a credit code of the wrong length, alphabet or check character",
    "future_date": "a signing or registration date after the export",
    "duplicate_row": "the same record twice in one file",
    "missing_required_field": "a required field left empty",
    "missing_sheet": "a report workbook without one of its sheets",
    "non_numeric_indicator": "a report indicator whose value is not a number",
}


@dataclass
class Manifest:
    seed: int
    scale: float
    years: list[int]
    defect_rate: float
    centers_scale: float | None = None  # None: the same as scale
    files: dict[str, int] = field(default_factory=dict)
    defects: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    missing_reports: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def by_folder(self) -> dict[str, dict[str, int]]:
        """Files and rows per top-level folder (registry, centers, reports, platform)."""
        return totals_by_folder(self.files)

    def count(self, relpath: str, rows: int) -> None:
        self.files[relpath] = rows

    def defect(self, kind: str, file: str, **where: Any) -> None:
        assert kind in DEFECT_KINDS, kind
        self.defects.append({"kind": kind, "file": file, **where})

    def write(self, out: Path) -> Path:
        path = out / "_manifest.json"
        data = {
            "generator": "ttw generate",
            "seed": self.seed,
            "scale": self.scale,
            "centers_scale": self.scale if self.centers_scale is None else self.centers_scale,
            "years": self.years,
            "defect_rate": self.defect_rate,
            "defect_kinds": DEFECT_KINDS,
            "files": dict(sorted(self.files.items())),
            "defects": self.defects,
            "corrections": self.corrections,
            "missing_reports": self.missing_reports,
            "figures": self.figures,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path


def totals_by_folder(files: dict[str, int]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for relpath, rows in files.items():
        folder = totals.setdefault(relpath.split("/")[0], {"files": 0, "rows": 0})
        folder["files"] += 1
        folder["rows"] += rows
    return totals


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
