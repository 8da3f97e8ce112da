"""The source registry is the one declaration: everything that repeats a fact of it agrees."""

from __future__ import annotations

import re

import pytest
import yaml

from ttw import sources
from ttw.extract import platform, registry, reports, workbook
from ttw.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "dbt_project" / "models"
MACROS = PROJECT_ROOT / "dbt_project" / "macros"


def test_generated_dbt_files_are_current():
    """dbt reads the registry through generated files: `python -m ttw.sources` rewrites them."""
    for path, render in sources.GENERATED.items():
        assert path.read_text(encoding="utf-8") == render(), (
            f"{path.relative_to(PROJECT_ROOT)} is stale: run `.venv/bin/python -m ttw.sources`"
        )


def test_the_extractors_take_their_columns_and_patterns_from_the_registry():
    assert sources.REGISTRY_CONTRACTS.table.columns == registry.COLUMNS
    assert list(registry.LABELS.values()) == list(registry.COLUMNS)  # every column has its export label
    assert set(registry.REQUIRED_VALUES) <= set(registry.REQUIRED)
    assert "buyer_region_code" in registry.REQUIRED
    assert "buyer_region_code" not in registry.REQUIRED_VALUES
    assert sources.CENTER_ROSTER.table.columns == reports.ROSTER_COLUMNS
    assert sources.LANDING["contracts"].patterns == registry.PATTERNS
    assert sources.LANDING["reports"].patterns == reports.PATTERNS
    assert platform.RESOURCES == sources.RESOURCES


def test_every_workbook_suffix_searched_for_is_read_or_refused_by_name():
    assert set(workbook.SUFFIXES) == set(workbook.FORMATS) | set(workbook.REFUSED)


RULE = r"[a-z][a-z0-9_]*"
# a rule as a check writes it: the start of a 'rule|reason' string
WRITTEN = re.compile(rf"'({RULE})\|")


def _without_comments(text: str) -> str:
    """Jinja comments and SQL line comments out: a rule named there is not written."""
    return re.sub(r"--[^\n]*", "", re.sub(r"{#.*?#}", "", text, flags=re.S))


def _arguments(text: str, name: str) -> list[list[str]]:
    """The arguments of every call of macro ``name`` in ``text``, as written (split at the
    commas outside parentheses, brackets and quotes)."""
    calls = []
    for match in re.finditer(rf"\b{name}\(", text):
        args, depth, quote, current = [], 0, None, ""
        for char in text[match.end() :]:
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                args.append(current.strip())
                current = ""
                continue
            current += char
        calls.append([*args, current.strip()])
    return calls


def _rule_passed(call: list[str], position: int) -> str | None:
    """The rule a call passes to a macro's ``rule`` argument, by position or by keyword."""
    keyword = [arg.split("=", 1)[1].strip() for arg in call if re.match(r"rule\s*=[^=]", arg)]
    arg = keyword[0] if keyword else (call[position] if position < len(call) else None)
    return arg


def _rule_macros() -> tuple[dict[str, set[str]], dict[str, int]]:
    """The macros of macros/ that write rules: the rules each one writes by itself or through
    the macros it calls, and the position of the ``rule`` argument of those that write the
    rule they are given."""
    bodies: dict[str, str] = {}
    rule_argument: dict[str, int] = {}
    for path in sorted(MACROS.rglob("*.sql")):
        text = _without_comments(path.read_text(encoding="utf-8"))
        for name, params, body in re.findall(r"{%-?\s*macro (\w+)\(([^)]*)\)\s*-?%}(.*?){%-?\s*endmacro", text, re.S):
            names = [param.split("=")[0].strip() for param in params.split(",")]
            if "rule" in names:
                rule_argument[name] = names.index("rule")
            bodies[name] = body
    writes = {name: set(WRITTEN.findall(body)) for name, body in bodies.items()}
    changed = True
    while changed:  # a macro writes what the macros it calls write, and the rules it passes them
        changed = False
        for name, body in bodies.items():
            written = _called(body, writes, rule_argument, own_rule="rule" if name in rule_argument else None)
            if not written <= writes[name]:
                writes[name] |= written
                changed = True
    return {name: rules for name, rules in writes.items() if rules}, rule_argument


def _called(text: str, writes: dict[str, set[str]], rule_argument: dict[str, int], own_rule=None) -> set[str]:
    """The rules the macro calls in ``text`` write. A rule passed as anything but a quoted
    name (or, in a macro, its own ``rule`` passed on) cannot be read: that fails the test."""
    rules: set[str] = set()
    for name in writes.keys() | rule_argument.keys():
        for call in _arguments(text, name):
            rules |= writes.get(name, set())
            if name in rule_argument:
                arg = _rule_passed(call, rule_argument[name])
                if arg == own_rule:
                    continue
                literal = re.fullmatch(rf"'({RULE})'|\"({RULE})\"", arg or "")
                assert literal, f"{name}({', '.join(call)}): the rule is not a quoted name the test can read"
                rules.add(literal.group(1) or literal.group(2))
    return rules


def _rules_written(sql: str) -> set[str]:
    """The rules a check model's SQL can write: its own ``'rule|reason'`` strings, those of the
    rule macros it calls, and the rule it passes to a macro that takes one."""
    sql = _without_comments(sql)
    assert not re.search(r"'%[sIL]\|", sql), "a rule made at run time ('%s|...') cannot be checked"
    writes, rule_argument = _rule_macros()
    return set(WRITTEN.findall(sql)) | _called(sql, writes, rule_argument)


def test_the_rule_macros_are_read():
    """The parse above finds the rule macros (a renamed macro must not make the next test vacuous)."""
    writes, rule_argument = _rule_macros()
    assert writes["invalid_date"] == {"invalid_date"}
    assert writes["missing_required_fields"] == {"missing_required_field"}
    assert writes["date_out_of_range"] == {"date_out_of_range"}  # through date_out_of_range_failure
    assert rule_argument["not_allowed"] == 2
    assert "not_allowed" not in writes  # it writes the rule it is given
    call = "{{ not_allowed('t', 'status', 'unknown_status', \"'a'\", 'is not a') }}"
    assert _rules_written(call) == {"unknown_status"}
    in_a_loop = (
        "{% for c in cs %}{{ not_allowed('t', c, rule='unknown_code', allowed=\"'a'\", reason='x') }}{% endfor %}"
    )
    assert _rules_written(in_a_loop) == {"unknown_code"}
    assert _rules_written("{# invalid_date('t', 'x', 'y') #} -- 'future_date|x'\nselect 1") == set()
    with pytest.raises(AssertionError, match="not a quoted name"):
        _rules_written("{{ not_allowed('t', 'c', the_rule, 'x', 'y') }}")


@pytest.mark.parametrize("family", sources.FAMILIES, ids=lambda f: f.name)
def test_every_reject_rule_of_a_check_model_is_declared(family):
    """The rules a family's check model can reject a row by are the registry's, no more, no fewer."""
    [path] = MODELS.glob(f"staging/*/base/{family.check_model}.sql")
    assert _rules_written(path.read_text(encoding="utf-8")) == set(family.reject_rules), path.name


@pytest.mark.parametrize("family", [f for f in sources.FAMILIES if f.columns], ids=lambda f: f.name)
def test_the_dbt_source_documents_only_declared_raw_columns(family):
    """A raw column a `_sources.yml` documents is one the registry declares (or load metadata)."""
    documented = {}
    for path in MODELS.glob("staging/*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            for table in source.get("tables", []):
                documented[f"{source['schema']}.{table['name']}"] = [c["name"] for c in table.get("columns", [])]
    columns = documented[family.table.qualified]
    assert set(columns) <= {*family.table.columns, *sources.RAW_METADATA}, family.table.qualified


def test_the_platforms_seed_holds_every_resource_once():
    assert sorted(sources.RESOURCES) == sorted(set(sources.RESOURCES))
    rows = sources.PLATFORMS_SEED.read_text(encoding="utf-8").splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [p.code for p in sources.PLATFORMS]


def test_families_and_assets_of_the_dags():
    assert sources.families_of("ingest_center_reports") == ("center_roster", "center_reports")
    assert sources.families_of("ingest_contract_registry") == ("registry_contracts",)
    assert sources.assets() == ("raw.registry_contracts", "raw.center_reports", "raw.platform_records")
