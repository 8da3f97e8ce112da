"""Technology Innovation Centers: the yearly roster and one report workbook per center-year."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from ttw.codes import QINGDAO_DISTRICTS
from ttw.extract.reports import ROSTER_COLUMNS
from ttw_dev.generate import calibration as cal
from ttw_dev.generate.manifest import Manifest
from ttw_dev.generate.orgs import Org, org
from ttw_dev.generate.xlsx import save_deterministic

INDUSTRIES = ("新一代信息技术", "高端装备", "新材料", "生物医药", "新能源", "海洋经济", "现代农业", "节能环保")
# 运行数据: indicator -> unit (docs/sources.md)
INDICATORS = {
    "研发经费投入": "万元",
    "研发人员数": "人",
    "发明专利申请数": "项",
    "发明专利授权数": "项",
    "制定标准数": "项",
    "新产品数": "项",
    "技术合同数": "项",
    "技术合同成交额": "万元",
    "本地转化成果数": "项",
    "本地转化金额": "万元",
    "孵化企业数": "项",
    "技术转让收入": "万元",
    "大型仪器数": "台",
    "有效机时": "小时",
    "对外共享机时": "小时",
    "营业收入": "万元",
    "任务完成率": "%",
}
_NOT_A_NUMBER = ("约120", "—", "N/A", "待统计", "12..5")


@dataclass(frozen=True)
class Center:
    code: str
    name: str
    host: Org
    industry: str
    batch: str
    approved_on: dt.date
    build_start: dt.date
    build_end: dt.date
    revoked_on: dt.date | None
    quality: float

    @property
    def district(self) -> str:
        return self.host.region_code

    def status_on(self, day: dt.date) -> str | None:
        """Roster status on ``day``; None before approval."""
        if day < self.approved_on:
            return None
        if self.revoked_on is not None and self.revoked_on <= day:
            return "已撤销"
        return "建设期" if day <= self.build_end else "运行期"

    def reports_for(self, year: int) -> bool:
        """A center reports for every year it is in the system at year end."""
        return self.status_on(dt.date(year, 12, 31)) in ("建设期", "运行期")


def build_centers(seed: int, scale: float, years: list[int], sizes: dict[str, int]) -> list[Center]:
    rng = random.Random(f"{seed}:centers")
    approvals = {y: max(1, round(cal.CENTER_APPROVALS.get(y, 150) * scale)) for y in years}
    hosts = rng.sample(range(sizes["qingdao"]), min(sizes["qingdao"], sum(approvals.values())))
    last_day = dt.date(years[-1], 12, 31)
    centers: list[Center] = []
    for year in years:
        for seq in range(1, approvals[year] + 1):
            if not hosts:
                break
            host = org(seed, "qingdao", hosts.pop())
            half = 1 if seq <= approvals[year] // 2 else 2
            approved = dt.date(year, 6, 15) if half == 1 else dt.date(year, 12, 10)
            start = dt.date(year + (half == 2), 1 if half == 2 else 7, 1)
            end = dt.date(start.year + 3, start.month, 1) - dt.timedelta(days=1)
            revoked = None
            earliest = approved + dt.timedelta(days=365)
            if rng.random() < cal.CENTER_REVOKE_RATE and earliest < last_day:
                revoked = earliest + dt.timedelta(days=rng.randrange((last_day - earliest).days + 1))
            industry = rng.choice(INDUSTRIES)
            centers.append(
                Center(
                    code=f"C{year}{seq:05d}",
                    name=f"青岛市{industry}技术创新中心({host.name.removeprefix('青岛')[:4]})",
                    host=host,
                    industry=industry,
                    batch=f"{year}年第{half}批",
                    approved_on=approved,
                    build_start=start,
                    build_end=end,
                    revoked_on=revoked,
                    quality=rng.gauss(0, 1),
                )
            )
    return centers


def hosts_by_district(centers: list[Center]) -> dict[str, list[tuple[dt.date, Org]]]:
    """District -> [(approved_on, host org)], sorted by approval day."""
    table: dict[str, list[tuple[dt.date, Org]]] = {d: [] for d in QINGDAO_DISTRICTS}
    for center in centers:
        table.setdefault(center.district, []).append((center.approved_on, center.host))
    for entries in table.values():
        entries.sort(key=lambda entry: (entry[0], entry[1].index))
    return table


def write_rosters(out: Path, centers: list[Center], years: list[int], manifest: Manifest) -> None:
    """``centers/centers_YYYY.csv``: the bureau's list as of 31 December of each year."""
    for year in years:
        day = dt.date(year, 12, 31)
        relpath = f"centers/centers_{year}.csv"
        path = out / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ROSTER_COLUMNS)
            for center in centers:
                status = center.status_on(day)
                if status is None:
                    continue
                writer.writerow(
                    (
                        center.code,
                        center.name,
                        center.host.name_on(day),
                        center.host.credit_code,
                        center.district,
                        center.industry,
                        center.batch,
                        center.approved_on.isoformat(),
                        center.build_start.isoformat(),
                        center.build_end.isoformat(),
                        status,
                    )
                )
                rows += 1
        manifest.count(relpath, rows)


def indicator_values(center: Center, year: int, stats: list[float] | None, rng: random.Random) -> dict[str, float]:
    """A center's operating figures for a year; contract figures follow the registry."""
    q = center.quality
    growth = 1 + 0.08 * (year - center.approved_on.year)
    size = max(0.2, rng.lognormvariate(0.3 * q, 0.5)) * growth
    count, amount, local_count, local_amount = stats or (0, 0.0, 0, 0.0)
    inflate = rng.uniform(1.5, 3.0) if rng.random() < 0.05 else rng.uniform(0.95, 1.05)
    instruments = max(1, round(15 * size))
    machine_hours = round(instruments * rng.uniform(900, 1800))
    return {
        "研发经费投入": round(800 * size, 1),
        "研发人员数": max(3, round(60 * size)),
        "发明专利申请数": max(0, round(12 * size + rng.gauss(0, 2))),
        "发明专利授权数": max(0, round(5 * size + rng.gauss(0, 1))),
        "制定标准数": max(0, round(1.2 * size + rng.gauss(0, 0.5))),
        "新产品数": max(0, round(4 * size + rng.gauss(0, 1))),
        "技术合同数": round(count * inflate),
        "技术合同成交额": round(amount / 10_000 * inflate, 2),
        "本地转化成果数": round(local_count * rng.uniform(0.9, 1.1)),
        "本地转化金额": round(local_amount / 10_000 * rng.uniform(0.95, 1.05), 2),
        "孵化企业数": max(0, round(size + rng.gauss(0, 0.8))),
        "技术转让收入": round(amount / 10_000 * rng.uniform(0.2, 0.5), 2),
        "大型仪器数": instruments,
        "有效机时": machine_hours,
        "对外共享机时": round(machine_hours * min(0.9, max(0.02, rng.gauss(0.3 + 0.1 * q, 0.12)))),
        "营业收入": round(20_000 * size, 1),
        "任务完成率": round(min(100.0, max(40.0, rng.gauss(88 + 5 * q, 8))), 1),
    }


def write_reports(
    out: Path,
    centers: list[Center],
    years: list[int],
    host_stats: dict[tuple[str, int], list[float]],
    *,
    seed: int,
    defect_rate: float,
    manifest: Manifest,
    workers: int | None = None,
    batch_size: int = 250,
) -> None:
    """``reports/YYYY/年度报告_{center_code}_{year}.xlsx`` in the §5.3 layout.

    Each workbook depends only on its own seeded dice, so batches are written in parallel
    (one process per core) and their manifest entries merged in batch order: the output is
    the same bytes whatever the number of workers.
    """
    batches: list[list[tuple[Center, int, list[float] | None]]] = []
    for year in years:
        due = [(c, year, host_stats.get((c.host.credit_code, year))) for c in centers if c.reports_for(year)]
        batches.extend(due[i : i + batch_size] for i in range(0, len(due), batch_size))
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(batches) < 2:
        results = [_write_batch(out, batch, seed, defect_rate) for batch in batches]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(
                pool.map(
                    _write_batch, [out] * len(batches), batches, [seed] * len(batches), [defect_rate] * len(batches)
                )
            )
    for partial in results:
        manifest.files.update(partial.files)
        manifest.defects.extend(partial.defects)
        manifest.missing_reports.extend(partial.missing_reports)


def _write_batch(
    out: Path, batch: list[tuple[Center, int, list[float] | None]], seed: int, defect_rate: float
) -> Manifest:
    """Write one batch of report workbooks; the manifest entries they make."""
    partial = Manifest(seed=seed, scale=0, years=[], defect_rate=defect_rate)
    for center, year, stats in batch:
        rng = random.Random(f"{seed}:report:{center.code}:{year}")
        if rng.random() < 0.02:
            partial.missing_reports.append({"center_code": center.code, "year": year})
            continue
        relpath = f"reports/{year}/年度报告_{center.code}_{year}.xlsx"
        values = indicator_values(center, year, stats, rng)
        rows = _write_report(out / relpath, relpath, center, year, values, rng, defect_rate, partial)
        partial.count(relpath, rows)
    return partial


def _write_report(
    path: Path,
    relpath: str,
    center: Center,
    year: int,
    values: dict[str, float],
    rng: random.Random,
    defect_rate: float,
    manifest: Manifest,
) -> int:
    """Write one report workbook; returns the indicator rows it holds."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    missing = rng.choice(("运行数据", "基本信息")) if rng.random() < defect_rate else None
    if missing:
        manifest.defect("missing_sheet", relpath, sheet=missing, center_code=center.code, year=year)

    if missing != "基本信息":
        info = workbook.create_sheet("基本信息")
        info.append([f"技术创新中心年度报告（{year}年度）"])
        info.merge_cells("A1:B1")
        info.append([])
        for label, value in (
            ("中心编号", center.code),
            ("中心名称", center.name),
            ("依托单位", center.host.name_on(dt.date(year, 12, 31))),
            ("依托单位统一社会信用代码", center.host.credit_code),
            ("所在区市", QINGDAO_DISTRICTS[center.district]),
            ("产业领域", center.industry),
            ("报告年度", str(year) if rng.random() < 0.5 else year),
        ):
            info.append([label, value])

    if missing != "运行数据":
        data = workbook.create_sheet("运行数据")
        data.append(["运行数据"])
        data.merge_cells("A1:C1")
        data.append(["指标", "单位", "本年数值"])
        row = 2  # our own count: openpyxl's max_row does not see an appended empty row
        broken = rng.choice(tuple(INDICATORS)) if rng.random() < defect_rate else None
        for indicator, unit in INDICATORS.items():
            if rng.random() < 0.08:
                data.append([])  # blank rows occur
                row += 1
            row += 1
            value: object = values[indicator]
            if indicator == broken:
                value = rng.choice(_NOT_A_NUMBER)
                manifest.defect(
                    "non_numeric_indicator",
                    relpath,
                    sheet="运行数据",
                    cell=f"C{row}",
                    indicator=indicator,
                    value=value,
                    center_code=center.code,
                    year=year,
                )
            elif rng.random() < 0.15:
                value = f"{value:,}" if rng.random() < 0.3 else str(value)  # numbers stored as text
            data.append([indicator, unit, value])

    results = workbook.create_sheet("重大成果")
    results.append(["成果名称", "成果类型", "完成时间", "简要说明"])
    for n in range(rng.randint(1, 4)):
        results.append(
            [
                f"{center.industry}关键技术成果{n + 1}",
                rng.choice(("新产品", "新工艺", "专利", "标准")),
                f"{year}-{rng.randint(1, 12):02d}",
                "已在本地企业实现转化应用" if rng.random() < 0.5 else "处于中试阶段",
            ]
        )
    plans = workbook.create_sheet("问题与计划")
    plans.append(["存在问题"])
    plans.append(["高端人才不足，成果转化渠道有待拓展。"])
    plans.append([])
    plans.append(["下一年度计划"])
    plans.append(["加强产学研合作，提升大型仪器开放共享水平。"])
    save_deterministic(workbook, path)
    return 0 if missing == "运行数据" else len(INDICATORS)
