"""Platform exports (docs/sources.md) as the files the sample server serves.

``platform/{platform}/{resource}.jsonl``: one JSON record version per line. A record may
have later versions (same ``id``, later ``updated_at``) and a final tombstone
(``deleted: true``); the server shows each record's newest version. Records are written
as they are made, so memory stays flat whatever the scale.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from ttw import sources
from ttw.codes import QINGDAO_DISTRICTS
from ttw_dev.generate import calibration as cal
from ttw_dev.generate.manifest import Manifest
from ttw_dev.generate.orgs import Org, org, qingdao_org_in
from ttw_dev.generate.registry import TECH_FIELDS, pick_weighted

# the platforms and the resources each serves, as the source registry declares them
PLATFORMS = {p.code: p.resources for p in sources.PLATFORMS}
ID_PREFIX = {
    "achievements": "ACH",
    "demands": "DEM",
    "matches": "MAT",
    "challenges": "CHL",
    "financing_needs": "FIN",
    "loans": "LON",
}
TZ = dt.timezone(dt.timedelta(hours=8))
_BANKS = ("青岛银行", "中国银行青岛分行", "建设银行青岛分行", "农商银行", "招商银行青岛分行", "齐鲁银行青岛分行")


def record_id(resource: str, year: int, seq: int) -> str:
    return f"{ID_PREFIX[resource]}{year}{seq:06d}"


def _moment(rng: random.Random, day: dt.date) -> dt.datetime:
    return dt.datetime(
        day.year, day.month, day.day, rng.randint(8, 20), rng.randint(0, 59), rng.randint(0, 59), tzinfo=TZ
    )


def _day_in(rng: random.Random, year: int) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def _versions(rng: random.Random, record: dict, created: dt.datetime, changes: dict) -> Iterator[dict]:
    """The record as first published, maybe a later update, maybe a final deletion."""
    yield {**record, "updated_at": created.isoformat(), "deleted": False}
    when = created
    if rng.random() < 0.2:
        when = when + dt.timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600))
        yield {**record, **changes, "updated_at": when.isoformat(), "deleted": False}
        record = {**record, **changes}
    if rng.random() < 0.03:
        when = when + dt.timedelta(days=rng.randint(1, 60))
        yield {**record, "updated_at": when.isoformat(), "deleted": True}


def _single(record: dict, when: dt.datetime) -> Iterator[dict]:
    """A record published once and never changed."""
    yield {**record, "updated_at": when.isoformat(), "deleted": False}


def _party(prefix: str, party: Org, day: dt.date) -> dict:
    return {
        f"{prefix}_name": party.name_on(day),
        f"{prefix}_credit_code": party.credit_code,
        f"{prefix}_region_code": party.region_code,
    }


def generate_platform(
    out: Path,
    *,
    seed: int,
    scale: float,
    years: list[int],
    sizes: dict[str, int],
    match_candidates: dict[int, list[dict]],
    manifest: Manifest,
) -> None:
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        handles = {}
        for platform, resources in PLATFORMS.items():
            for resource in resources:
                relpath = f"platform/{platform}/{resource}.jsonl"
                (out / relpath).parent.mkdir(parents=True, exist_ok=True)
                handles[resource] = (relpath, stack.enter_context((out / relpath).open("w", encoding="utf-8")))
                counts[relpath] = 0

        def write(resource: str, versions: Iterator[dict]) -> None:
            relpath, handle = handles[resource]
            for version in versions:
                handle.write(json.dumps(version, ensure_ascii=False, sort_keys=True) + "\n")
                counts[relpath] += 1

        for year in years:
            rng = random.Random(f"{seed}:platform:{year}")
            n = {r: max(1, round(c * scale)) for r, c in cal.PLATFORM_PER_YEAR.items()}
            registered = match_candidates.get(year, [])
            plain_achievements = n["achievements"] - len(registered)
            plain_demands = n["demands"] - len(registered)

            def local(rng: random.Random = rng) -> Org:
                return qingdao_org_in(seed, sizes, rng.choice(tuple(QINGDAO_DISTRICTS)), rng)

            for seq in range(1, plain_achievements + 1):
                owner = local()
                published = _day_in(rng, year)
                record = {
                    "id": record_id("achievements", year, seq),
                    "title": f"{pick_weighted(rng, TECH_FIELDS)}领域新技术成果{seq}",
                    **_party("owner", owner, published),
                    "tech_field": pick_weighted(rng, TECH_FIELDS),
                    "maturity": rng.choice(("实验室", "小试", "中试", "产业化")),
                    "transfer_mode": rng.choice(("转让", "许可", "作价入股", "合作开发")),
                    "asking_price": round(rng.lognormvariate(13, 1.0), -3),
                    "published_on": published.isoformat(),
                    "status": "展示中",
                }
                write("achievements", _versions(rng, record, _moment(rng, published), {"status": "已对接"}))
            for seq in range(1, plain_demands + 1):
                enterprise = local()
                published = _day_in(rng, year)
                record = {
                    "id": record_id("demands", year, seq),
                    "title": f"{pick_weighted(rng, TECH_FIELDS)}技术需求{seq}",
                    **_party("enterprise", enterprise, published),
                    "tech_field": pick_weighted(rng, TECH_FIELDS),
                    "budget": round(rng.lognormvariate(13.5, 0.9), -3),
                    "published_on": published.isoformat(),
                    "deadline": (published + dt.timedelta(days=180)).isoformat(),
                    "status": "征集中",
                }
                write("demands", _versions(rng, record, _moment(rng, published), {"status": "已对接"}))

            # matches that ended in a registered contract: their own achievement and demand
            match_seq = 0
            for k, contract in enumerate(registered, start=1):
                signed = dt.date.fromisoformat(contract["registered_on"])
                matched = signed - dt.timedelta(days=rng.randint(30, 120))
                published = matched - dt.timedelta(days=rng.randint(10, 90))
                seller = org(seed, *contract["seller_index"])
                buyer = org(seed, *contract["buyer_index"])
                achievement_id = record_id("achievements", year, plain_achievements + k)
                demand_id = record_id("demands", year, plain_demands + k)
                write(
                    "achievements",
                    _versions(
                        random.Random(f"{seed}:ach:{achievement_id}"),
                        {
                            "id": achievement_id,
                            "title": f"{contract['tech_field']}成果{achievement_id}",
                            **_party("owner", seller, published),
                            "tech_field": contract["tech_field"],
                            "maturity": "产业化",
                            "transfer_mode": "转让",
                            "asking_price": contract["amount"],
                            "published_on": published.isoformat(),
                            "status": "已转化",
                        },
                        _moment(rng, published),
                        {},
                    ),
                )
                demand = {
                    "id": demand_id,
                    "title": f"{contract['tech_field']}需求{demand_id}",
                    **_party("enterprise", buyer, published),
                    "tech_field": contract["tech_field"],
                    "budget": contract["amount"],
                    "published_on": published.isoformat(),
                    "deadline": (published + dt.timedelta(days=180)).isoformat(),
                    "status": "已对接",
                }
                write("demands", _single(demand, _moment(rng, published)))
                match_seq += 1
                match = {
                    "id": record_id("matches", year, match_seq),
                    "achievement_id": achievement_id,
                    "demand_id": demand_id,
                    "matched_on": matched.isoformat(),
                    "stage": "签约",
                    "amount": contract["amount"],
                    "registration_no": contract["registration_no"],
                }
                write("matches", _single(match, _moment(rng, signed)))
            # the other matches: still talking, or agreed without a registered contract
            for _ in range(n["matches"] - len(registered)):
                match_seq += 1
                matched = _day_in(rng, year)
                record = {
                    "id": record_id("matches", year, match_seq),
                    "achievement_id": record_id("achievements", year, rng.randint(1, max(1, plain_achievements))),
                    "demand_id": record_id("demands", year, rng.randint(1, max(1, plain_demands))),
                    "matched_on": matched.isoformat(),
                    "stage": rng.choice(("意向", "洽谈")),
                    "amount": None,
                    "registration_no": None,
                }
                write("matches", _versions(rng, record, _moment(rng, matched), {"stage": "洽谈"}))

            for seq in range(1, n["challenges"] + 1):
                issuer = local()
                published = _day_in(rng, year)
                solver = local()
                record = {
                    "id": record_id("challenges", year, seq),
                    "title": f"揭榜挂帅项目：{pick_weighted(rng, TECH_FIELDS)}关键核心技术攻关{seq}",
                    **_party("issuer", issuer, published),
                    "tech_field": pick_weighted(rng, TECH_FIELDS),
                    "budget": round(rng.lognormvariate(15, 0.6), -4),
                    "published_on": published.isoformat(),
                    "deadline": (published + dt.timedelta(days=90)).isoformat(),
                    "status": "发榜",
                    "solver_name": None,
                    "solver_credit_code": None,
                }
                solved = {
                    "status": "揭榜",
                    "solver_name": solver.name_on(published),
                    "solver_credit_code": solver.credit_code,
                }
                write("challenges", _versions(rng, record, _moment(rng, published), solved))

            for seq in range(1, n["financing_needs"] + 1):
                enterprise = local()
                published = _day_in(rng, year)
                need_id = record_id("financing_needs", year, seq)
                record = {
                    "id": need_id,
                    **_party("enterprise", enterprise, published),
                    "amount_requested": round(rng.lognormvariate(15, 0.8), -4),
                    "purpose": rng.choice(("研发投入", "成果转化", "设备购置", "流动资金")),
                    "published_on": published.isoformat(),
                    "status": "对接中",
                }
                write("financing_needs", _versions(rng, record, _moment(rng, published), {"status": "已放款"}))
                if seq <= n["loans"]:
                    issued = published + dt.timedelta(days=rng.randint(15, 90))
                    loan = {
                        "id": record_id("loans", year, seq),
                        "financing_need_id": need_id,
                        **_party("enterprise", enterprise, issued),
                        "bank_name": rng.choice(_BANKS),
                        "amount": round(record["amount_requested"] * rng.uniform(0.5, 1.0), -4),
                        "annual_rate": round(rng.uniform(2.8, 4.6), 2),
                        "term_months": rng.choice((6, 12, 24, 36)),
                        "issued_on": issued.isoformat(),
                        "is_ip_pledge": rng.random() < 0.3,
                    }
                    write("loans", _versions(rng, loan, _moment(rng, issued), {}))
    for relpath, rows in counts.items():
        manifest.count(relpath, rows)
