"""The source registry is the one declaration: everything that repeats a fact of it agrees."""

from __future__ import annotations

import re

import pytest
import yaml

from ttw import sources
from ttw.extract import platform, registry, reports, workbook
from ttw.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "dbt_project" / "models"


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


@pytest.mark.parametrize("family", sources.FAMILIES, ids=lambda f: f.name)
def test_every_reject_rule_of_a_check_model_is_declared(family):
    """The rules a family's check model can reject a row by are the registry's, no more, no fewer."""
    [path] = MODELS.glob(f"staging/*/base/{family.check_model}.sql")
    used = set(re.findall(r"'([a-z_]+)\|", path.read_text(encoding="utf-8")))
    if "missing_required_field" in family.reject_rules and family.required_values:
        used.add("missing_required_field")  # written by the loop over required_values()
    assert used == set(family.reject_rules), path.name


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
