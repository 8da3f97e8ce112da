"""Exports neutralise what a spreadsheet would run as a formula and keep numbers numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ttw.export import neutralise


@pytest.mark.parametrize("text", ["=1+1", "+86 532 1234", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"])
def test_text_a_spreadsheet_would_evaluate_is_prefixed(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("青岛市新材料技术创新中心", "青岛市新材料技术创新中心"), (Decimal("-12.50"), -12.5), (3, 3), (None, None)],
)
def test_other_values_pass_unchanged_and_decimals_become_numbers(value, expected):
    assert neutralise(value) == expected


def test_dates_stay_dates():
    assert neutralise(dt.date(2024, 6, 30)) == dt.date(2024, 6, 30)
