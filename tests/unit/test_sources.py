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


def _rule_macros() -> tuple[dict[str, set[str]], dict[str, int]]:
    """The macros of macros/*.sql that write rules: the rules each one writes by itself or
    through the macros it calls, and the position of the ``rule`` argument of those that
    write the rule they are given."""
    bodies: dict[str, str] = {}
    rule_argument: dict[str, int] = {}
    for path in sorted(MACROS.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        for name, params, body in re.findall(r"{%-?\s*macro (\w+)\(([^)]*)\)\s*-?%}(.*?){%-?\s*endmacro", text, re.S):
            names = [param.split("=")[0].strip() for param in params.split(",")]
            if "rule" in names:
                rule_argument[name] = names.index("rule")
            bodies[name] = body
    writes = {name: set(re.findall(r"'([a-z_]+)\|", body)) for name, body in bodies.items()}
    for name, body in bodies.items():
        writes[name] |= set(re.findall(r"field_failure\(\s*\w+,\s*\w+,\s*'([a-z_]+)'", body))
    changed = True
    while changed:  # a macro writes what the macros it calls write
        changed = False
        for name, body in bodies.items():
            called = set().union(*(writes[m] for m in bodies if m != name and re.search(rf"\b{m}\(", body)))
            if not called <= writes[name]:
                writes[name] |= called
                changed = True
    return {name: rules for name, rules in writes.items() if rules}, rule_argument


def _rules_written(sql: str) -> set[str]:
    """The rules a check model's SQL can write: its own ``'rule|reason'`` strings, those of the
    rule macros it calls, and the rule it passes to a macro that takes one."""
    writes, rule_argument = _rule_macros()
    rules = set(re.findall(r"'([a-z_]+)\|", sql))
    for name, written in writes.items():
        if re.search(rf"\b{name}\(", sql):
            rules |= written
    for name, position in rule_argument.items():
        rules |= set(re.findall(rf"\b{name}\(\s*(?:'[^']*',\s*){{{position}}}'([a-z_]+)'", sql))
    return rules


def test_the_rule_macros_are_read():
    """The parse above finds the rule macros (a renamed macro must not make the next test vacuous)."""
    writes, rule_argument = _rule_macros()
    assert writes["invalid_date"] == {"invalid_date"}
    assert writes["missing_required_fields"] == {"missing_required_field"}
    assert writes["date_out_of_range"] == {"date_out_of_range"}  # through date_out_of_range_failure
    assert rule_argument["not_allowed"] == 2
    call = "{{ not_allowed('t', 'status', 'unknown_status', \"'a'\", 'is not a') }}"
    assert _rules_written(call) == {"unknown_status"}


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
