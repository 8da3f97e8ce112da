"""Calibrated magnitudes of the Qingdao sample at scale 1 (all figures scale linearly).

Contract figures are for contracts sold by Qingdao parties (the city's registered
turnover). 2024 is about 700亿元 over ≈11.5k contracts; 市南区 registers ≈560 contracts and
a little over 21亿元 in the first half of 2024, +151% on the first half of 2023.
"""

from __future__ import annotations

YI = 100_000_000  # 亿元 in yuan

# year -> (contracts sold by Qingdao parties, turnover in yuan)
CITY = {
    2019: (8_200, 300 * YI),
    2020: (8_600, 330 * YI),
    2021: (9_000, 380 * YI),
    2022: (9_800, 460 * YI),
    2023: (10_600, 560 * YI),
    2024: (11_500, 700 * YI),
    2025: (12_000, 790 * YI),
    2026: (12_600, 870 * YI),
}

# registrations per month: slow start after the Spring Festival, a year-end rush
MONTH_WEIGHTS = (0.6, 0.6, 0.8, 0.8, 0.9, 1.0, 0.9, 0.9, 1.0, 1.0, 1.1, 1.6)
H1_SHARE = sum(MONTH_WEIGHTS[:6]) / sum(MONTH_WEIGHTS)

# seller district -> (share of contracts, share of turnover) in an ordinary year
DISTRICT_SHARES = {
    "370202": (0.105, 0.060),
    "370203": (0.085, 0.070),
    "370211": (0.170, 0.210),
    "370212": (0.160, 0.180),
    "370213": (0.060, 0.050),
    "370214": (0.120, 0.130),
    "370215": (0.090, 0.090),
    "370281": (0.085, 0.090),
    "370283": (0.065, 0.060),
    "370285": (0.060, 0.060),
}
SHINAN = "370202"
# 市南区, first half of the year: (contracts, turnover in yuan)
SHINAN_H1 = {2023: (500, 8.6 * YI), 2024: (560, 8.6 * YI * 2.51)}

# contracts whose seller is outside Qingdao but whose buyer is in it (吸纳), as a share
# of the Qingdao-sold count: registered elsewhere, shared with the city's registry
INTAKE_SHARE = 0.15

# buyers of Qingdao-sold contracts: local, elsewhere in China, abroad
BUYER_SPLIT = (0.45, 0.50, 0.05)

# centers approved per year (two batches a year); ≈6% are revoked later
CENTER_APPROVALS = {2019: 200, 2020: 260, 2021: 330, 2022: 290, 2023: 250, 2024: 210, 2025: 150, 2026: 120}
CENTER_REVOKE_RATE = 0.06

# platform records per year
PLATFORM_PER_YEAR = {
    "achievements": 3_200,
    "demands": 900,
    "matches": 459,
    "challenges": 60,
    "financing_needs": 400,
    "loans": 260,
}
# share of matches that end in a registered contract (they carry its registration_no)
MATCHES_REGISTERED = 0.4


def district_year_targets(year: int, scale: float) -> dict[str, tuple[float, float]]:
    """Seller district -> (contracts, turnover) for a year, with 市南区 pinned to its figures."""
    count, amount = CITY[year]
    targets = {d: (count * c, amount * a) for d, (c, a) in DISTRICT_SHARES.items()}
    if year in SHINAN_H1:
        h1_count, h1_amount = SHINAN_H1[year]
        pinned = (h1_count / H1_SHARE, h1_amount / H1_SHARE)
        rest_count = (count - pinned[0]) / (count - targets[SHINAN][0])
        rest_amount = (amount - pinned[1]) / (amount - targets[SHINAN][1])
        targets = {d: (c * rest_count, a * rest_amount) for d, (c, a) in targets.items()}
        targets[SHINAN] = pinned
    return {d: (c * scale, a * scale) for d, (c, a) in targets.items()}
