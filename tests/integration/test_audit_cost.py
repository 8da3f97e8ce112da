"""The audit's fixed cost (docs/benchmarks.md "The audit's fixed cost"): Data Docs are built
once per audit, with the same pages as before, and every check is recorded with the result
the suites give without Data Docs."""

from __future__ import annotations

import re

from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

from ttw.build import build
from ttw.quality import audit, load_suites, run_suites, suites_dir
from ttw.warehouse import connect
from ttw_dev.dataset import ingest_dataset


def test_the_audit_builds_data_docs_once_with_a_page_per_suite(clean_target, settings, small_dataset, monkeypatch):
    assert ingest_dataset(clean_target, small_dataset).ok
    build(settings, clean_target)
    builds = []
    original = AbstractDataContext.build_data_docs

    def counted(self, *args, **kwargs):
        builds.append(kwargs.get("resource_identifiers"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AbstractDataContext, "build_data_docs", counted)
    result = audit(settings, clean_target)

    assert result.ok, result.failed_critical
    assert len(builds) == 1  # GX's per-validation action built the whole site once per suite
    suites = {s["name"] for s in load_suites(suites_dir(settings))}
    index = result.docs_index.read_text(encoding="utf-8")
    validated = set(re.findall(r"validations/([a-z_]+)/__none__/[0-9TZ.]+/warehouse-\1\.html", index))
    documented = set(re.findall(r"expectations/([a-z_]+)\.html", index))
    assert validated == suites
    assert documented == suites
    docs = result.docs_index.parent
    for suite in suites:
        assert (docs / "expectations" / f"{suite}.html").is_file()
        (page,) = (docs / "validations" / suite).glob(f"__none__/*/warehouse-{suite}.html")
        assert "<html" in page.read_text(encoding="utf-8").lower()

    with connect(clean_target) as conn:
        recorded = conn.execute(
            "select suite, count(*) from ops.quality_results where run_id = %s and suite <> 'dbt' group by suite",
            (result.run_id,),
        ).fetchall()
    expected = {s["name"]: len(s["expectations"]) for s in load_suites(suites_dir(settings))}
    assert dict(recorded) == expected

    without_docs, index = run_suites(clean_target, load_suites(suites_dir(settings)), docs_dir=None)
    assert index is None
    outcome = sorted(
        (c.suite, c.expectation, c.column or "", c.severity, c.success, c.observed or "") for c in without_docs
    )
    with connect(clean_target) as conn:
        stored = conn.execute(
            "select suite, expectation, coalesce(column_name, ''), severity, success, coalesce(observed_value, '')"
            " from ops.quality_results where run_id = %s and suite <> 'dbt'",
            (result.run_id,),
        ).fetchall()
    assert sorted(stored) == outcome
