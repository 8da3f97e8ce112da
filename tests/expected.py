"""Expected figures computed straight from the CSV exports, independently of the warehouse."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal


def latest_contracts(*paths) -> dict[str, dict]:
    """registration_no -> newest row, read straight from the CSV exports (later file, later row wins)."""
    latest: dict[str, dict] = {}
    for path in sorted(paths, key=lambda p: p.name):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                latest[row["registration_no"]] = row
    return latest


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def qingdao_turnover(rows: dict[str, dict], months: range = range(1, 13)) -> dict[tuple[str, int], tuple[int, Decimal]]:
    """(seller district, year) -> (registered contracts, amount) over ``months``, from the CSV."""
    totals: dict[tuple[str, int], list] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows.values():
        registered = row["registered_on"].replace("/", "-").replace("年", "-").replace("月", "-").rstrip("日")
        year, month = int(registered.split("-")[0]), int(registered.split("-")[1])
        if row["status"] != "已登记" or not row["seller_region_code"].startswith("3702") or month not in months:
            continue
        cell = totals[(row["seller_region_code"], year)]
        cell[0] += 1
        cell[1] += amount(row["contract_amount"])
    return {key: (count, total) for key, (count, total) in totals.items()}
