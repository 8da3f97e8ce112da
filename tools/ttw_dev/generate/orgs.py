"""Organizations, derived from (seed, pool, index) alone so nothing is held in memory.

Each organization keeps one unified social credit code across every source; about 5%
change their name once, so sources disagree on names and the newest name should win.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from functools import lru_cache

from ttw.codes import CHINA, CREDIT_CODE_ALPHABET, PROVINCE_PREFIXES, QINGDAO_DISTRICTS, credit_check_char

DISTRICTS = tuple(QINGDAO_DISTRICTS)
_WORDS = [
    "海川",
    "蓝谷",
    "海纳",
    "崂峰",
    "青科",
    "海信达",
    "瑞源",
    "东方",
    "华海",
    "鲁青",
    "琴岛",
    "汇智",
    "中科",
    "联创",
    "启明",
    "博远",
    "金桥",
    "海晟",
    "鼎新",
    "天润",
    "恒瑞",
    "众诚",
    "星海",
    "泰和",
    "华通",
    "德汇",
    "立信",
    "宏图",
    "海之源",
    "新锐",
    "卓越",
    "云帆",
    "盛世",
    "远航",
]
_BUSINESS = [
    "智能",
    "生物",
    "海洋",
    "新材料",
    "装备",
    "电子",
    "医药",
    "能源",
    "环保",
    "信息",
    "数控",
    "机器人",
    "检测",
    "软件",
    "精密",
    "化工",
]
_SUFFIX = ("科技有限公司", "技术有限公司", "股份有限公司", "科技股份有限公司", "研究院有限公司")
_UNIVERSITIES = (
    "中国海洋大学",
    "青岛大学",
    "山东科技大学",
    "青岛科技大学",
    "青岛理工大学",
    "青岛农业大学",
    "中国石油大学(华东)",
    "青岛滨海学院",
)
_FOREIGN = (("840", "Inc."), ("276", "GmbH"), ("392", "株式会社"), ("410", "Co., Ltd."), ("702", "Pte. Ltd."))
_PROVINCE_CITY = {"11": "北京", "31": "上海", "44": "深圳", "32": "苏州", "33": "杭州", "37": "济南", "42": "武汉"}


@dataclass(frozen=True)
class Org:
    index: int
    pool: str  # qingdao | china | abroad
    name: str
    credit_code: str  # "" for foreign parties
    nature_code: str
    region_code: str  # "" abroad
    country_code: str
    renamed_on: dt.date | None = None
    new_name: str | None = None

    def name_on(self, day: dt.date) -> str:
        if self.renamed_on is not None and day >= self.renamed_on:
            return self.new_name or self.name
        return self.name


def _credit_code(rng: random.Random, kind: str, region: str) -> str:
    """``kind`` is the registration authority and type ("91" enterprise, "12" public institution)."""
    body = kind + region + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_check_char(body)


@lru_cache(maxsize=200_000)
def org(seed: int, pool: str, index: int) -> Org:
    rng = random.Random(f"{seed}:org:{pool}:{index}")
    if pool == "qingdao":
        district = DISTRICTS[index % len(DISTRICTS)]
        roll = rng.random()
        if roll < 0.01 and index < len(_UNIVERSITIES) * len(DISTRICTS):
            name, nature, kind = _UNIVERSITIES[index % len(_UNIVERSITIES)], "022", "12"
        elif roll < 0.05:
            name, nature, kind = f"青岛{rng.choice(_WORDS)}{rng.choice(_BUSINESS)}研究院", "021", "12"
        else:
            name = f"青岛{rng.choice(_WORDS)}{rng.choice(_BUSINESS)}{rng.choice(_SUFFIX)}"
            nature, kind = rng.choice(("110", "130", "140", "150", "160", "190")), "91"
        code = _credit_code(rng, kind, district)
        region, country = district, CHINA
    elif pool == "china":
        prefix = rng.choice(PROVINCE_PREFIXES[:31])
        city = rng.choice([c for c in range(1, 10) if (prefix, c) != ("37", 2)])  # 3702xx is Qingdao
        region = f"{prefix}{city:02d}{rng.randint(1, 9):02d}"
        name = f"{_PROVINCE_CITY.get(prefix, '')}{rng.choice(_WORDS)}{rng.choice(_BUSINESS)}{rng.choice(_SUFFIX)}"
        nature = rng.choice(("110", "130", "140", "150", "021", "022"))
        code = _credit_code(rng, "12" if nature.startswith("02") else "91", region)
        country = CHINA
    else:
        country, suffix = rng.choice(_FOREIGN)
        name = f"{rng.choice(('Ocean', 'Nova', 'Blue', 'Apex', 'Delta', 'Helix'))} {rng.choice(_BUSINESS)} {suffix}"
        code, nature, region = "", "190", ""
    renamed_on = new_name = None
    if pool != "abroad" and rng.random() < 0.05 and name.endswith("有限公司") and "股份" not in name:
        renamed_on = dt.date(rng.randint(2020, 2025), rng.randint(1, 12), 1)
        new_name = name.replace("有限公司", "股份有限公司")
    return Org(index, pool, name, code, nature, region, country, renamed_on, new_name)


def pool_sizes(scale: float) -> dict[str, int]:
    """Organizations per pool: Qingdao parties, the rest of China, abroad."""
    return {
        "qingdao": max(50, round(6_000 * scale)),
        "china": max(50, round(5_000 * scale)),
        "abroad": max(10, round(300 * scale)),
    }


def qingdao_org_in(seed: int, sizes: dict[str, int], district: str, rng: random.Random) -> Org:
    """A Qingdao organization located in ``district``."""
    slot = DISTRICTS.index(district)
    per_district = sizes["qingdao"] // len(DISTRICTS)
    return org(seed, "qingdao", slot + len(DISTRICTS) * rng.randrange(per_district))
