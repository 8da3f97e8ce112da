"""One owner per check (docs/checks.md): the suite files use GX's own severity, the landing
suites take their column checks from the source registry, no GX expectation repeats a dbt
test, and the build schema ttw audits and publishes is the one dbt builds into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ttw.errors import TTWError
from ttw.quality import (
    SEVERITIES,
    declared_columns,
    declared_values,
    family_rows,
    load_suites,
)
from ttw.sources import FAMILIES, PLATFORMS, RAW_METADATA, RESOURCES
from ttw.warehouse import BUILD_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "expectations" / "suites"
DBT = ROOT / "dbt_project"


def test_severities_are_gx_own():
    from great_expectations.expectations.metadata_types import FailureSeverity

    assert tuple(level.value for level in FailureSeverity) == SEVERITIES
    for path in SUITES.glob("*.json"):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            assert "severity" not in expectation.get("meta", {}), path.name
            assert expectation.get("severity", "critical") in SEVERITIES, path.name


def test_a_severity_in_meta_is_refused(tmp_path):
    suite = {
        "name": "landing_x",
        "meta": {"boundary": "landing", "query": "select 1 as one"},
        "expectations": [
            {"type": "expect_column_to_exist", "kwargs": {"column": "one"}, "meta": {"severity": "warning"}}
        ],
    }
    (tmp_path / "landing_x.json").write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(TTWError, match="severity belongs in the expectation"):
        load_suites(tmp_path)


def test_landing_suites_check_the_columns_the_registry_declares():
    suites = {s["meta"].get("table"): s for s in load_suites(SUITES, "landing")}
    for table in (t for f in FAMILIES for t in f.tables):  # every one, with a suite file or not
        expectations = suites[table.qualified]["expectations"]
        exist = [e["kwargs"]["column"] for e in expectations if e["type"] == "expect_column_to_exist"]
        assert exist == [*table.columns, *RAW_METADATA]
        assert expectations[: len(exist)] == declared_columns(table.qualified)
    # the files themselves do not repeat the declaration
    for path in SUITES.glob("landing_*.json"):
        suite = json.loads(path.read_text(encoding="utf-8"))
        if declared_columns(suite["meta"].get("table", "")):
            assert all(e["type"] != "expect_column_to_exist" for e in suite["expectations"]), path.name
    assert declared_columns("raw.not_declared") == []


def _mart_models() -> set[str]:
    return {
        model["name"]
        for path in (DBT / "models" / "marts").rglob("_*__models.yml")
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", [])
    }


# GX expectation types that assert a model invariant: dbt's tests own those (unique,
# unique_combination, not_null, accepted_values, relationships, singular tests)
INVARIANTS = (
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_pair_values_a_to_be_greater_than_b",
)


def test_no_publish_expectation_on_a_model_asserts_an_invariant():
    marts = _mart_models()
    for suite in load_suites(SUITES, "publish"):
        if (table := suite["meta"].get("table")) is not None:
            assert table in marts, table
            for expectation in suite["expectations"]:
                assert expectation["type"] not in INVARIANTS, (suite["name"], expectation["type"])


def test_the_build_schema_is_the_one_dbt_builds_into():
    profile = yaml.safe_load((DBT / "profiles.yml").read_text(encoding="utf-8"))["ttw"]
    assert profile["outputs"][profile["target"]]["schema"] == BUILD_SCHEMA
    # the marts name no schema of their own: they land in the target schema (generate_schema_name)
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text(encoding="utf-8"))
    assert "+schema" not in project["models"]["ttw"]["marts"]
    assert "{{ target.schema }}" in (DBT / "macros" / "generate_schema_name.sql").read_text(encoding="utf-8")


def test_the_reject_share_counts_every_family_of_the_registry():
    """landing_reject_share's received rows come from the registry ({received}), a row per
    family from the raw table its check model checks, so a new family is in it."""
    [suite] = [s for s in load_suites(SUITES, "landing") if s["name"] == "landing_reject_share"]
    assert "{received}" in suite["meta"]["query"]
    received = family_rows("received")
    for family in FAMILIES:
        branch = f"select '{family.name}' as source_family, count(*) as raw_count from {family.checked.qualified}"
        assert branch in received
    assert received.count(" union all ") == len(FAMILIES) - 1
    assert [f.checked.name for f in FAMILIES if f.name == "center_reports"] == ["report_indicators"]


def test_the_platform_records_landing_suite_allows_the_registrys_platforms_and_resources_only():
    """The platforms and resources a landed record may name are the registry's (PLATFORMS),
    checked on the rows of live batches, and no suite file or dbt test lists them again."""
    [suite] = [s for s in load_suites(SUITES, "landing") if s["name"] == "landing_platform_records_values"]
    assert "retracted_at is not null" in suite["meta"]["query"]
    expectations = suite["expectations"]
    in_set = {e["kwargs"]["column"]: e["kwargs"]["value_set"] for e in expectations if "value_set" in e["kwargs"]}
    assert in_set == {"platform": [p.code for p in PLATFORMS], "resource": list(RESOURCES)}
    assert all(e["severity"] == "critical" for e in declared_values("raw.platform_records"))
    assert declared_values("raw.registry_contracts") == []
    for path in SUITES.glob("*.json"):
        assert "financing_needs" not in path.read_text(encoding="utf-8"), path.name
    models = (ROOT / "dbt_project" / "models" / "staging" / "platform" / "_platform__models.yml").read_text()
    assert "values: [achievements" not in models
    assert "values: [tech_market" not in models


def test_the_sources_present_guard_asks_every_family_of_the_registry():
    """publish_sources_present's families come from the registry ({landed}), each asked on
    the raw table its check model checks, so a new family is in it."""
    [suite] = [s for s in load_suites(SUITES, "publish") if s["name"] == "publish_sources_present"]
    assert suite["meta"]["query"].startswith("with families as ({landed}), published")
    landed = family_rows("landed")
    for family in FAMILIES:
        assert f"select '{family.name}' as family, exists (select 1 from {family.checked.qualified})" in landed
    assert landed.count(" union all ") == len(FAMILIES) - 1
