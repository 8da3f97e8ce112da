"""Monthly contract registry exports, with the formats and faults the real registry shows.

A month's file is written as its rows are made: only the month's amounts (floats) and a
bounded pool of recent contracts (for corrected re-exports) are held in memory.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import datetime as dt
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from ttw.codes import QINGDAO_DISTRICTS
from ttw.extract.registry import COLUMNS, LABELS, REQUIRED_VALUES
from ttw_dev.generate import calibration as cal
from ttw_dev.generate.manifest import Manifest
from ttw_dev.generate.orgs import Org, org, qingdao_org_in
from ttw_dev.generate.xlsx import save_deterministic

CONTRACT_TYPES = {
    "技术开发": (0.30, ("委托开发", "合作开发")),
    "技术转让": (0.05, ("专利权转让", "专利申请权转让", "技术秘密转让")),
    "技术许可": (0.05, ("专利实施许可", "技术秘密许可")),
    "技术咨询": (0.06, ("一般技术咨询", "技术中介")),
    "技术服务": (0.54, ("一般技术服务", "技术培训", "技术中介")),
}
TECH_FIELDS = {
    "电子信息": 0.24,
    "航空航天": 0.02,
    "先进制造": 0.22,
    "生物、医药和医疗器械": 0.10,
    "新材料及其应用": 0.10,
    "新能源与高效节能": 0.08,
    "环境保护与资源综合利用": 0.07,
    "核应用技术": 0.01,
    "农业": 0.05,
    "现代交通": 0.04,
    "城市建设与社会发展": 0.07,
}
IP_TYPES = {
    "技术秘密": 0.35,
    "发明专利": 0.15,
    "实用新型": 0.08,
    "软件著作权": 0.12,
    "集成电路布图": 0.01,
    "植物新品种": 0.01,
    "无": 0.28,
}
ROW_DEFECTS = (
    "tech_amount_exceeds_contract",
    "non_positive_amount",
    "unknown_region_code",
    "malformed_credit_code",
    "future_date",
    "duplicate_row",
    "missing_required_field",
)
_SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "平",
    "刚",
]
_TOPICS = [
    "海洋传感器",
    "工业互联网平台",
    "智能制造产线",
    "生物医药制剂",
    "高性能复合材料",
    "储能电池",
    "水处理工艺",
    "智慧农业系统",
]
_ACTIONS = ["关键技术开发", "技术服务", "技术转让", "专利实施许可", "工艺优化咨询", "检测评价服务"]
_RECENT_POOL = 2_000
REVOKED_SHARE = 0.02  # contracts registered and later revoked (已撤销)


@dataclass
class RegistryState:
    """What later stages need from the registry: host-organization totals and match candidates."""

    host_stats: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    match_candidates: dict[int, list[dict]] = field(default_factory=dict)


def pick_weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def _date_text(rng: random.Random, day: dt.date) -> str:
    roll = rng.random()
    if roll < 0.80:
        return day.isoformat()
    if roll < 0.92:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def _amount_text(rng: random.Random, amount: int) -> str:
    roll = rng.random()
    if roll < 0.75:
        return str(amount)
    if roll < 0.90:
        return f"{amount:,}"
    return f"{amount}.00"


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN), "1" + rng.choice("3589") + "".join(
        rng.choices("0123456789", k=9)
    )


class _Month:
    """One month's export being written: CSV (some encoding and header style) or xlsx."""

    def __init__(self, out: Path, year: int, month: int, rng: random.Random) -> None:
        self.as_xlsx = rng.random() < 1 / 6
        self.encoding = rng.choices(("utf-8", "utf-8-sig", "gb18030"), weights=(0.5, 0.25, 0.25))[0]
        self.chinese = self.as_xlsx or rng.random() < 0.7
        suffix = "xlsx" if self.as_xlsx else "csv"
        self.relpath = f"registry/contracts_{year}{month:02d}.{suffix}"
        self.path = out / self.relpath
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        header = list(LABELS) if self.chinese else list(COLUMNS)
        if self.as_xlsx:
            self.workbook = Workbook(write_only=True)
            self.sheet = self.workbook.create_sheet("合同登记")
            self.sheet.append(header)
        else:
            self.handle = self.path.open("w", encoding="gb18030" if self.encoding == "gb18030" else "utf-8", newline="")
            if self.encoding == "utf-8-sig":
                self.handle.write(codecs.BOM_UTF8.decode("utf-8"))
            self.writer = csv.writer(self.handle)
            self.writer.writerow(header)

    def where(self, column: str) -> dict:
        """Location of the current row (and a column) for the manifest."""
        place: dict = {"row": self.rows, "column": column}
        if self.as_xlsx:
            place["cell"] = f"合同登记!{_column_letter(COLUMNS.index(column))}{self.rows + 1}"
        else:
            place["line"] = self.rows + 1
        return place

    def write(self, record: dict) -> None:
        self.rows += 1
        values = [record[c] for c in COLUMNS]
        if self.as_xlsx:
            self.sheet.append([_xlsx_value(c, v) for c, v in zip(COLUMNS, values, strict=True)])
        else:
            self.writer.writerow(values)

    def close(self) -> None:
        if self.as_xlsx:
            save_deterministic(self.workbook, self.path)
        else:
            self.handle.close()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _xlsx_value(column: str, value: str) -> object:
    """Registry workbooks hold amounts as numbers and ISO dates as date cells."""
    if column in ("contract_amount", "tech_transaction_amount") and value.isdigit():
        return int(value)
    if column in ("signed_on", "registered_on") and len(value) == 10 and value[4] == "-":
        return dt.date.fromisoformat(value)
    return value


def generate_registry(
    out: Path,
    *,
    seed: int,
    scale: float,
    years: list[int],
    defect_rate: float,
    sizes: dict[str, int],
    hosts_by_district: dict[str, list[tuple[dt.date, Org]]],
    manifest: Manifest,
) -> RegistryState:
    state = RegistryState()
    recent: deque[dict] = deque(maxlen=max(50, round(_RECENT_POOL * scale)))
    carry: dict[str, float] = {}
    sequence: dict[tuple[int, str], int] = {}
    weights_total = sum(cal.MONTH_WEIGHTS)
    # the calibrated figures are of valid, registered contracts: make up for the revoked
    # ones and for the rows damaged on purpose (which the warehouse rejects)
    kept = (1 - REVOKED_SHARE) * (1 - defect_rate)
    for year in years:
        targets = {d: (c / kept, a / kept) for d, (c, a) in cal.district_year_targets(year, scale).items()}
        wanted_matches = round(cal.PLATFORM_PER_YEAR["matches"] * scale * cal.MATCHES_REGISTERED)
        reservoir: list[dict] = []
        seen_candidates = 0
        for month in range(1, 13):
            rng = random.Random(f"{seed}:registry:{year}:{month}")
            share = cal.MONTH_WEIGHTS[month - 1] / weights_total
            export = _Month(out, year, month, rng)
            days_in_month = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.date(year, month, 1)).days
            # this month's contracts join the (bounded) pool of correctable ones after its corrections
            month_rows: deque[dict] = deque(maxlen=recent.maxlen)
            for district, (count, amount) in targets.items():
                exact = count * share + carry.get(district, 0.0)
                n = int(exact)
                carry[district] = exact - n
                raw = [rng.lognormvariate(0, 1.1) for _ in range(n)]
                factor = amount * share * rng.uniform(0.97, 1.03) / sum(raw) if raw else 0
                for draw in raw:
                    record, meta = make_contract(
                        rng,
                        seed,
                        sizes,
                        year,
                        month,
                        days_in_month,
                        district,
                        max(1_000, int(round(draw * factor, -2))),
                        hosts_by_district,
                        sequence,
                    )
                    clean = _emit(export, record, meta, rng, defect_rate, manifest, state, month_rows, year)
                    if clean and meta["match_candidate"]:
                        seen_candidates += 1
                        if len(reservoir) < wanted_matches:
                            reservoir.append(meta["match"])
                        else:
                            slot = rng.randrange(seen_candidates)
                            if slot < wanted_matches:
                                reservoir[slot] = meta["match"]
            # contracts sold from elsewhere to Qingdao buyers (吸纳), registered elsewhere
            intake = round(cal.CITY[year][0] * scale * share * cal.INTAKE_SHARE)
            for _ in range(intake):
                record, meta = make_contract(
                    rng,
                    seed,
                    sizes,
                    year,
                    month,
                    days_in_month,
                    None,
                    max(1_000, int(round(rng.lognormvariate(15, 1.1), -2))),
                    hosts_by_district,
                    sequence,
                )
                _emit(export, record, meta, rng, defect_rate, manifest, state, month_rows, year)
            _corrections(export, rng, recent, manifest, scale)
            recent.extend(month_rows)
            export.close()
            manifest.count(export.relpath, export.rows)
        state.match_candidates[year] = reservoir
    return state


def make_contract(
    rng: random.Random,
    seed: int,
    sizes: dict[str, int],
    year: int,
    month: int,
    days_in_month: int,
    district: str | None,
    amount: int,
    hosts_by_district: dict[str, list[tuple[dt.date, Org]]],
    sequence: dict[tuple[int, str], int],
) -> tuple[dict, dict]:
    """One contract record (all text, canonical columns) and facts about it for later stages."""
    registered = dt.date(year, month, rng.randint(1, days_in_month))
    signed = registered - dt.timedelta(days=rng.randint(0, 60))
    if district is None:  # intake: seller elsewhere in China, buyer in Qingdao
        seller = org(seed, "china", rng.randrange(sizes["china"]))
        buyer = qingdao_org_in(seed, sizes, rng.choice(tuple(QINGDAO_DISTRICTS)), rng)
    else:
        # hosts are sorted by the day their center was approved: those approved by now may sell
        hosts = hosts_by_district.get(district, [])
        approved = bisect.bisect_right(hosts, registered, key=lambda host: host[0])
        if approved and rng.random() < 0.3:
            seller = hosts[rng.randrange(approved)][1]
        else:
            seller = qingdao_org_in(seed, sizes, district, rng)
        pool = rng.choices(("qingdao", "china", "abroad"), weights=cal.BUYER_SPLIT)[0]
        if pool == "qingdao":
            buyer = qingdao_org_in(seed, sizes, rng.choice(tuple(QINGDAO_DISTRICTS)), rng)
        else:
            buyer = org(seed, pool, rng.randrange(sizes[pool]))
        if buyer.credit_code == seller.credit_code:
            buyer = org(seed, "china", rng.randrange(sizes["china"]))
    key = (year, seller.region_code)
    sequence[key] = sequence.get(key, 0) + 1
    contract_type = pick_weighted(rng, {k: w for k, (w, _) in CONTRACT_TYPES.items()})
    share = rng.uniform(0.5, 0.8) if contract_type in ("技术服务", "技术咨询") else rng.uniform(0.75, 1.0)
    tech_amount = int(amount * share)
    contact, phone = _person(rng)
    record = {
        "registration_no": f"{year}{seller.region_code}{sequence[key]:06d}",
        "project_name": f"{rng.choice(_TOPICS)}{rng.choice(_ACTIONS)}",
        "contract_type": contract_type,
        "contract_subtype": rng.choice(CONTRACT_TYPES[contract_type][1]),
        "signed_on": _date_text(rng, signed),
        "registered_on": _date_text(rng, registered),
        "seller_name": seller.name_on(registered),
        "seller_credit_code": seller.credit_code,
        "seller_nature_code": seller.nature_code,
        "seller_region_code": seller.region_code,
        "buyer_name": buyer.name_on(registered),
        "buyer_credit_code": buyer.credit_code,
        "buyer_nature_code": buyer.nature_code,
        "buyer_region_code": buyer.region_code,
        "buyer_country_code": buyer.country_code,
        "contract_amount": _amount_text(rng, amount),
        "tech_transaction_amount": _amount_text(rng, tech_amount),
        "tech_field": pick_weighted(rng, TECH_FIELDS),
        "ip_type": pick_weighted(rng, IP_TYPES),
        "status": "已撤销" if rng.random() < REVOKED_SHARE else "已登记",
        "contact_name": contact,
        "contact_phone": phone,
    }
    local = buyer.region_code in QINGDAO_DISTRICTS
    meta = {
        "seller": seller,
        "amount": amount,
        "local": local,
        "registered": registered,
        "match_candidate": district is not None and contract_type in ("技术开发", "技术转让", "技术许可"),
        "match": {
            "registration_no": record["registration_no"],
            "seller_index": (seller.pool, seller.index),
            "buyer_index": (buyer.pool, buyer.index),
            "registered_on": registered.isoformat(),
            "amount": amount,
            "tech_field": record["tech_field"],
        },
    }
    return record, meta


def _emit(
    export: _Month,
    record: dict,
    meta: dict,
    rng: random.Random,
    defect_rate: float,
    manifest: Manifest,
    state: RegistryState,
    month_rows: deque[dict],
    year: int,
) -> bool:
    """Write a record, maybe damaged on purpose (and listed), and keep the totals; True if clean."""
    kind = rng.choice(ROW_DEFECTS) if rng.random() < defect_rate else None
    if kind is None or kind == "duplicate_row":
        seller = meta["seller"]
        if seller.pool == "qingdao" and record["status"] == "已登记":
            stats = state.host_stats.setdefault((seller.credit_code, year), [0, 0.0, 0, 0.0])
            stats[0] += 1
            stats[1] += meta["amount"]
            if meta["local"]:
                stats[2] += 1
                stats[3] += meta["amount"]
        month_rows.append(record)
    if kind is None:
        export.write(record)
        return True
    damaged = dict(record)
    column = _damage(kind, damaged, rng, meta)
    if kind == "duplicate_row":
        export.write(record)
    export.write(damaged)
    manifest.defect(kind, export.relpath, registration_no=record["registration_no"], **export.where(column))
    return False


def _damage(kind: str, record: dict, rng: random.Random, meta: dict) -> str:
    """Apply defect ``kind`` to ``record`` in place; returns the column it lives in."""
    amount = meta["amount"]
    if kind == "tech_amount_exceeds_contract":
        record["tech_transaction_amount"] = str(int(amount * rng.uniform(1.1, 1.5)))
        return "tech_transaction_amount"
    if kind == "non_positive_amount":
        record["contract_amount"] = rng.choice(("0", f"-{amount}"))
        record["tech_transaction_amount"] = "0"  # one defect per row: 0 breaks no other rule
        return "contract_amount"
    if kind == "unknown_region_code":
        record["seller_region_code"] = rng.choice(("370299", "000000", "990101"))
        return "seller_region_code"
    if kind == "malformed_credit_code":
        code = record["seller_credit_code"]
        record["seller_credit_code"] = rng.choice(
            (code[:-1], code[:-1] + ("0" if code[-1] != "0" else "1"), code.lower().replace("1", "I"))
        )
        return "seller_credit_code"
    if kind == "future_date":
        record["signed_on"] = (meta["registered"] + dt.timedelta(days=rng.randint(400, 1500))).isoformat()
        return "signed_on"
    if kind == "duplicate_row":
        return "registration_no"
    column = rng.choice(REQUIRED_VALUES)
    record[column] = ""
    return column


def _corrections(export: _Month, rng: random.Random, recent: deque, manifest: Manifest, scale: float) -> None:
    """Re-export a few contracts of earlier months with corrected values: the newest export wins.

    ``recent`` holds only earlier months' contracts (this month's join it afterwards).
    """
    if not recent:
        return
    for index in sorted(rng.sample(range(len(recent)), min(len(recent), max(1, round(4 * scale))))):
        original = recent[index]
        corrected = dict(original)
        if original["status"] == "已登记" and rng.random() < 0.3:
            corrected["status"] = "已撤销"
            change = "status"
        else:
            amount = int(str(original["contract_amount"]).replace(",", "").split(".")[0])
            new_amount = int(round(amount * rng.uniform(0.8, 1.2), -2))
            if new_amount == amount:
                new_amount += 100
            corrected["contract_amount"] = str(new_amount)
            corrected["tech_transaction_amount"] = str(round(new_amount * 0.7))
            change = "amount"
        recent[index] = corrected  # a later month may correct the corrected version again
        export.write(corrected)
        manifest.corrections.append(
            {
                "registration_no": corrected["registration_no"],
                "file": export.relpath,
                "row": export.rows,
                "change": change,
                "contract_amount": corrected["contract_amount"],
                "status": corrected["status"],
            }
        )
