"""Read a generated dataset back independently of the project's extractors (for tests)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook

from ttw.codes import QINGDAO_DISTRICTS
from ttw.extract.registry import COLUMNS, LABELS  # the label table of docs/sources.md

PLATFORM_TOKEN = "test-token-1234"  # the sample platform server's token in tests

_BY_NAME = {**LABELS, **{c: c for c in COLUMNS}}


def registry_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(data row number, canonical record with text values) for one registry export."""
    if path.suffix == ".xlsx":
        sheet = load_workbook(path, read_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_BY_NAME[h] for h in next(rows)]
        for number, values in enumerate(rows, start=1):
            yield number, {c: _text(v) for c, v in zip(header, values, strict=True)}
        return
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [_BY_NAME[h] for h in next(reader)]
    for number, values in enumerate(reader, start=1):
        yield number, dict(zip(header, values, strict=True))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def parse_date(text: str) -> dt.date | None:
    cleaned = text.strip().replace("/", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        year, month, day = (int(p) for p in cleaned.split("-"))
        return dt.date(year, month, day)
    except (ValueError, TypeError):
        return None


def parse_amount(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def manifest(root: Path) -> dict:
    return json.loads((root / "_manifest.json").read_text(encoding="utf-8"))


def platform_records(root: Path, platform: str, resource: str) -> list[dict]:
    path = root / "platform" / platform / f"{resource}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def newest_versions(root: Path, platform: str, resource: str, as_of: dt.datetime | None = None) -> dict[str, dict]:
    """Each record's newest version straight from the platform files (the oracle)."""
    best: dict[str, dict] = {}
    for record in platform_records(root, platform, resource):
        when = dt.datetime.fromisoformat(record["updated_at"])
        if as_of is not None and when > as_of:
            continue
        if record["id"] not in best or when >= dt.datetime.fromisoformat(best[record["id"]]["updated_at"]):
            best[record["id"]] = record
    return best


def newest_valid_contracts(root: Path) -> dict[str, dict]:
    """Newest valid version of every contract: later export wins, defect rows left out."""
    data = manifest(root)
    defective = {(d["file"], d["row"]) for d in data["defects"] if d["file"].startswith("registry/")}
    latest: dict[str, dict] = {}
    for relpath in sorted(f for f in data["files"] if f.startswith("registry/")):
        for number, row in registry_rows(root / relpath):
            if (relpath, number) not in defective:
                latest[row["registration_no"]] = row
    return latest


def qingdao_sold(contracts: dict[str, dict], year: int, months=range(1, 13), district: str | None = None):
    """(count, yuan) of registered contracts sold by Qingdao parties, registered in ``year``/``months``."""
    count, total = 0, 0.0
    for row in contracts.values():
        registered = parse_date(row["registered_on"])
        seller = row["seller_region_code"]
        if (
            row["status"] == "已登记"
            and seller in QINGDAO_DISTRICTS
            and registered.year == year
            and registered.month in months
            and (district is None or seller == district)
        ):
            count += 1
            total += parse_amount(row["contract_amount"])
    return count, total
