from __future__ import annotations

import random

import pytest

from ttw.codes import CREDIT_CODE_ALPHABET, credit_check_char, is_valid_credit_code


def random_code(rng: random.Random) -> str:
    body = "91" + "370202" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_check_char(body)


def test_a_code_with_its_check_character_is_valid():
    rng = random.Random(1)
    for _ in range(200):
        assert is_valid_credit_code(random_code(rng))


def test_any_single_changed_character_is_caught():
    rng = random.Random(2)
    code = random_code(rng)
    for position in range(18):
        for replacement in CREDIT_CODE_ALPHABET:
            if replacement != code[position]:
                changed = code[:position] + replacement + code[position + 1 :]
                assert not is_valid_credit_code(changed), changed


@pytest.mark.parametrize(
    "code", ["", "91370202MA3C4X7E1", "91370202MA3C4X7E1XX", "91370202ma3c4x7e1x", "9137020IMA3C4X7E1X"]
)
def test_wrong_length_or_alphabet_is_invalid(code):
    assert not is_valid_credit_code(code)
