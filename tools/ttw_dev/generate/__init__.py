"""``ttw generate``: a deterministic Qingdao sample of everything upstream delivers.

Same seed and scale, same bytes (xlsx included). Every figure scales linearly with
``scale``; defects are put in at ``defect_rate`` and listed in ``_manifest.json``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ttw.errors import TTWError
from ttw_dev.generate import calibration as cal
from ttw_dev.generate.centers import build_centers, hosts_by_district, write_reports, write_rosters
from ttw_dev.generate.manifest import Manifest
from ttw_dev.generate.orgs import pool_sizes
from ttw_dev.generate.platform import generate_platform
from ttw_dev.generate.registry import generate_registry

DEFAULT_YEARS = "2021-2025"


class _StageClock:
    """Seconds per stage into ``timings`` (kept out of the manifest, which must be reproducible)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = round(now - self.last, 3)
        self.last = now


_OUTPUTS = ("registry", "centers", "reports", "platform")


def _prepare(out: Path) -> None:
    """An empty folder, or one holding an earlier dataset (replaced whole, so no stale file survives)."""
    if out.exists() and not out.is_dir():
        raise TTWError(f"--out {out}: is a file, expected a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / "_manifest.json").exists():
            raise TTWError(f"--out {out}: folder is not empty and holds no generated dataset; use an empty folder")
        for name in _OUTPUTS:
            shutil.rmtree(out / name, ignore_errors=True)
        (out / "_manifest.json").unlink()
    out.mkdir(parents=True, exist_ok=True)


def parse_years(text: str) -> list[int]:
    """``2021-2025`` or ``2024`` -> the list of years, within the calibrated range."""
    try:
        first, _, last = text.partition("-")
        years = list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise TTWError(f"--years {text!r}: expected YEAR or FIRST-LAST, e.g. 2021-2025") from None
    known = sorted(cal.CITY)
    if not years or years[0] < known[0] or years[-1] > known[-1]:
        raise TTWError(f"--years {text!r}: the sample is calibrated for {known[0]}-{known[-1]}")
    return years


def generate(
    out: Path,
    *,
    scale: float = 1.0,
    seed: int = 42,
    years: str = DEFAULT_YEARS,
    defect_rate: float = 0.01,
    centers_scale: float | None = None,
    timings: dict[str, float] | None = None,
) -> Manifest:
    """Write the dataset into ``out``; ``timings`` (if given) receives seconds per stage.

    ``centers_scale`` sizes the center program (roster and report workbooks) apart from
    the registry and platforms, which follow ``scale``: a national-sized registry beside
    one city's centers. Unset, it is ``scale``.
    """
    if scale <= 0:
        raise TTWError(f"--scale {scale}: expected a positive number")
    centers_scale = scale if centers_scale is None else centers_scale
    if centers_scale <= 0:
        raise TTWError(f"--centers-scale {centers_scale}: expected a positive number")
    if not 0 <= defect_rate < 0.5:
        raise TTWError(f"--defect-rate {defect_rate}: expected a share between 0 and 0.5")
    year_list = parse_years(years)
    _prepare(out)
    manifest = Manifest(seed=seed, scale=scale, years=year_list, defect_rate=defect_rate, centers_scale=centers_scale)
    sizes = pool_sizes(scale)

    clock = _StageClock(timings)
    centers = build_centers(seed, centers_scale, year_list, sizes)
    write_rosters(out, centers, year_list, manifest)
    clock.lap("centers")
    registry = generate_registry(
        out,
        seed=seed,
        scale=scale,
        years=year_list,
        defect_rate=defect_rate,
        sizes=sizes,
        hosts_by_district=hosts_by_district(centers),
        manifest=manifest,
    )
    clock.lap("registry")
    write_reports(out, centers, year_list, registry.host_stats, seed=seed, defect_rate=defect_rate, manifest=manifest)
    clock.lap("reports")
    generate_platform(
        out,
        seed=seed,
        scale=scale,
        years=year_list,
        sizes=sizes,
        match_candidates=registry.match_candidates,
        manifest=manifest,
    )
    clock.lap("platform")
    manifest.figures = {
        "city_contracts_by_year": {y: round(cal.CITY[y][0] * scale) for y in year_list},
        "city_turnover_yuan_by_year": {y: round(cal.CITY[y][1] * scale) for y in year_list},
        "shinan_h1": {
            y: {"contracts": round(c * scale), "turnover_yuan": round(a * scale)}
            for y, (c, a) in cal.SHINAN_H1.items()
            if y in year_list
        },
        "centers_in_system_at_end": sum(1 for c in centers if c.reports_for(year_list[-1])),
    }
    manifest.write(out)
    return manifest
