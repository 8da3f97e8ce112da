"""Write-audit-publish: dbt tests and GX suites gate what BI reads in marts, one owner per check
(docs/checks.md)."""

from __future__ import annotations

import threading

import pytest

from ttw.build import build, run_dbt
from ttw.errors import TTWError
from ttw.ingest import ingest_contracts
from ttw.publish import publish
from ttw.quality import audit, load_suites, newest_build, suites_dir, validate_dataframe
from ttw.warehouse import BUILD_SCHEMA, connect, table_checksums
from ttw_dev.dataset import ingest_dataset, registry_months

# the dbt test that owns "a grade is one of the scheme's" (rpt_center_performance.grade)
GRADE_RULE = "test.ttw.relationships_rpt_center_performance_grade__grade__ref_grade_thresholds_"


def test_a_broken_mart_fails_the_audit_and_leaves_marts_untouched(clean_target, settings, small_dataset):
    assert ingest_dataset(clean_target, small_dataset).ok
    build(settings, clean_target)
    assert audit(settings, clean_target).ok
    publish(settings, clean_target)
    before = table_checksums(clean_target, "marts")

    # the build goes wrong: a grade the scheme does not have (the primary key keeps a
    # duplicated center-year out of the table itself) and a PII column
    with connect(clean_target) as conn:
        conn.execute(
            f"update {BUILD_SCHEMA}.rpt_center_performance set grade = '待定'"
            " where (center_code, evaluation_year) in"
            f" (select center_code, evaluation_year from {BUILD_SCHEMA}.rpt_center_performance order by 1, 2 limit 1)"
        )
        conn.execute(f"alter table {BUILD_SCHEMA}.fct_tech_contracts add column contact_phone text")
        conn.commit()
    # the grade is a model invariant, a dbt test of the build owns it: the build's tests of the
    # model run on what it holds (again, under the build's id, as a retried test task does)
    with pytest.raises(TTWError):
        run_dbt(
            settings, clean_target, ["test", "--select", "rpt_center_performance"], build_id=newest_build(clean_target)
        )
    result = audit(settings, clean_target)
    assert not result.ok
    failed = {(c.suite, c.expectation) for c in result.failed_critical}
    assert any(suite == "dbt" and rule.startswith(f"{GRADE_RULE}.") for suite, rule in failed)
    assert ("publish_no_pii", "expect_column_max_to_be_between") in failed

    with pytest.raises(TTWError) as excinfo:
        publish(settings, clean_target)
    assert GRADE_RULE in str(excinfo.value)
    assert table_checksums(clean_target, "marts") == before

    # the model built again passes its tests; the PII column, a GX check, still blocks
    build(settings, clean_target, select=["rpt_center_performance"])
    result = audit(settings, clean_target)
    assert not result.ok
    assert ("publish_no_pii", "expect_column_max_to_be_between") in {
        (c.suite, c.expectation) for c in result.failed_critical
    }
    with pytest.raises(TTWError) as excinfo:
        publish(settings, clean_target)
    message = str(excinfo.value)
    assert "publish_no_pii" in message
    assert "data_docs" in message
    assert table_checksums(clean_target, "marts") == before


def test_publish_refuses_a_build_that_was_not_audited(clean_target, settings, sample_contracts):
    assert ingest_contracts(clean_target, [sample_contracts]).ok
    build(settings, clean_target)
    with pytest.raises(TTWError, match="has not been audited"):
        publish(settings, clean_target)


def test_a_reader_during_publish_sees_the_old_or_the_new_marts(clean_target, settings, small_dataset):
    assert ingest_dataset(clean_target, small_dataset, hold_back_months=1).ok
    build(settings, clean_target)
    assert audit(settings, clean_target).ok
    publish(settings, clean_target)
    query = (
        "select (select count(*) from marts.fct_tech_contracts),"
        " (select sum(contract_count) from marts.rpt_contract_turnover_monthly),"
        " (select count(*) from marts.dim_organization)"
    )
    with connect(clean_target) as conn:
        old = conn.execute(query).fetchone()
    assert ingest_contracts(clean_target, list(registry_months(small_dataset).values())[-1]).ok
    build(settings, clean_target)
    assert audit(settings, clean_target).ok

    seen, errors, stop = set(), [], threading.Event()

    def read() -> None:
        with connect(clean_target, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    seen.add(conn.execute(query).fetchone())
                except Exception as exc:  # any error a BI tool would see
                    errors.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        publish(settings, clean_target)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    with connect(clean_target) as conn:
        new = conn.execute(query).fetchone()
    assert new != old
    assert errors == []
    assert seen <= {old, new}
    assert old in seen


def test_a_suite_runs_on_a_dataframe_at_extract_time(settings):
    import pandas as pd

    suite = next(s for s in load_suites(suites_dir(settings)) if s["name"] == "landing_registry_contracts")
    required = [e["kwargs"]["column"] for e in suite["expectations"] if e["type"] == "expect_column_to_exist"]
    frame = pd.DataFrame({column: ["x"] for column in required})
    frame["registration_no"] = ["123"]  # not 16 digits
    frame["_batch_id"] = [1]
    checks = validate_dataframe(frame, suite)
    by_column = {(c.expectation, c.column): c for c in checks}
    assert by_column[("expect_column_to_exist", "registration_no")].success
    assert not by_column[("expect_column_values_to_match_regex", "registration_no")].success


def test_a_platform_record_of_a_resource_the_registry_does_not_declare_fails_its_landing_suite(settings):
    import pandas as pd

    suite = next(s for s in load_suites(suites_dir(settings)) if s["name"] == "landing_platform_records_values")
    frame = pd.DataFrame({"platform": ["tech_market", "finance"], "resource": ["achievements", "patents"]})
    checks = {(c.expectation, c.column): c for c in validate_dataframe(frame, suite)}
    resource = checks[("expect_column_values_to_be_in_set", "resource")]
    assert not resource.success
    assert resource.severity == "critical"
    assert checks[("expect_column_values_to_be_in_set", "platform")].success


def test_an_undeclared_resource_blocks_while_its_batch_is_live_and_not_once_retracted(clean_target, settings):
    """The allowed values are checked on the rows of live batches: a retracted batch's rows
    stay in raw, and its wrong resource no longer blocks the audit."""
    from ttw.ingest import ensure_raw_tables
    from ttw.quality import run_suites

    ensure_raw_tables(clean_target)
    [suite] = [s for s in load_suites(suites_dir(settings)) if s["name"] == "landing_platform_records_values"]
    with connect(clean_target) as conn:
        [batch] = conn.execute(
            "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)"
            " values ('platform_records', 'http://127.0.0.1/tech_market/api/v1/patents', '', 1, 1)"
            " returning batch_id"
        ).fetchone()
        conn.execute(
            "insert into raw.platform_records (platform, resource, record_id, updated_at, deleted, payload,"
            " _batch_id, _source_file, _row_number) values"
            " ('tech_market', 'patents', 'PAT1', '2025-01-02T03:04:05+08:00', 'false', '{}', %s, 'page 1', 1)",
            (batch,),
        )

    def resource_check():
        checks, _ = run_suites(clean_target, [suite])
        return next(c for c in checks if c.column == "resource")

    live = resource_check()
    assert not live.success
    assert live.severity == "critical"
    with connect(clean_target) as conn:
        conn.execute("update ops.load_batches set retracted_at = now() where batch_id = %s", (batch,))
    assert resource_check().success
