"""Read a generated dataset back independently of the project's extractors (for tests)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook

from ttw.extract.registry import COLUMNS, LABELS  # the DESIGN §5.1 label table

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
