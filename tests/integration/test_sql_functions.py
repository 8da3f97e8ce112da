"""The warehouse's SQL parsing functions agree with the Python code the generator uses."""

from __future__ import annotations

import random

from ttw.build import run_dbt
from ttw.codes import CREDIT_CODE_ALPHABET, credit_check_char, is_valid_credit_code
from ttw.warehouse import connect


def test_sql_and_python_credit_code_checks_agree(settings, target):
    run_dbt(settings, target, ["run-operation", "install_parsing_functions"])
    rng = random.Random(3)
    codes = []
    for _ in range(300):
        body = rng.choice(("91", "12", "52")) + "370202" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
        code = body + credit_check_char(body)
        codes.append(code)
        position = rng.randrange(18)
        codes.append(code[:position] + rng.choice(CREDIT_CODE_ALPHABET) + code[position + 1 :])  # often broken
    codes += ["", "91370202MA3C4X7E1", "91370202ma3c4x7e1x", "9137020IMA3C4X7E1X"]
    with connect(target) as conn:
        verdicts = conn.execute(
            "select code, staging.is_valid_credit_code(code) from unnest(%s::text[]) as code", (codes,)
        ).fetchall()
    assert dict(verdicts) == {code: is_valid_credit_code(code) for code in codes}
    assert any(valid for _, valid in verdicts)
    assert not all(valid for _, valid in verdicts)
