"""Generated exports through ingest and dbt: every injected defect is rejected with its rule."""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from generated import manifest

from ttw.build import build
from ttw.ingest import ingest_centers, ingest_contracts, ingest_reports
from ttw.warehouse import connect


@pytest.mark.parametrize("dataset", ["small_dataset", "defective_dataset"])
def test_every_registry_defect_is_rejected_with_its_rule_and_nothing_else(clean_target, settings, dataset, request):
    root = request.getfixturevalue(dataset)
    data = manifest(root)
    report = ingest_contracts(clean_target, [root / "registry"])
    assert report.ok, report.errors
    assert len(report.batches) == sum(1 for f in data["files"] if f.startswith("registry/"))
    assert any(b.source.endswith(".xlsx") for b in report.batches)
    build(settings, clean_target)

    with connect(clean_target) as conn:
        rejects = conn.execute(
            "select source_file, source_row_number, rule_name, reason from ops.rejects"
            " where source_family = 'registry_contracts'"
        ).fetchall()
        ledger = conn.execute(
            "select batch_id, rows_received, rows_loaded,"
            " (select count(*) from raw.registry_contracts r where r._batch_id = b.batch_id)"
            " from ops.load_batches b where source_family = 'registry_contracts'"
        ).fetchall()
        raw = conn.execute("select count(*) from raw.registry_contracts").fetchone()[0]
        staged = conn.execute("select count(*) from staging.stg_registry__contracts").fetchone()[0]

    root_prefix = str(root) + "/"
    found = Counter((f.removeprefix(root_prefix), row, rule) for f, row, rule, _ in rejects)
    expected = Counter((d["file"], d["row"], d["kind"]) for d in data["defects"] if d["file"].startswith("registry/"))
    assert found == expected  # each defect once, under its own rule, and nothing else
    for _, _, rule, reason in rejects:
        assert reason, rule
    # rows received = rows loaded for every batch; every raw row staged or rejected
    assert all(received == loaded == counted for _, received, loaded, counted in ledger)
    assert raw == staged + len({(f, row) for f, row, _, _ in rejects})


def test_generated_corrections_supersede_the_earlier_versions(clean_target, settings, small_dataset):
    assert ingest_contracts(clean_target, [small_dataset / "registry"]).ok
    build(settings, clean_target)
    latest = {}
    for correction in manifest(small_dataset)["corrections"]:  # in export order: the last one wins
        latest[correction["registration_no"]] = correction
    with connect(clean_target) as conn:
        facts = dict(
            (number, (amount, registered))
            for number, amount, registered in conn.execute(
                "select registration_no, contract_amount, is_registered from marts_build.fct_tech_contracts"
                " where registration_no = any(%s)",
                (list(latest),),
            )
        )
    assert len(facts) == len(latest)
    for number, correction in latest.items():
        amount, registered = facts[number]
        assert amount == Decimal(correction["contract_amount"].replace(",", ""))
        assert registered == (correction["status"] == "已登记")


@pytest.mark.parametrize("dataset", ["small_dataset", "defective_dataset"])
def test_report_and_roster_defects_are_kept_with_sheet_or_cell(clean_target, settings, dataset, request):
    root = request.getfixturevalue(dataset)
    data = manifest(root)
    centers = ingest_centers(clean_target, [root / "centers"])
    reports = ingest_reports(clean_target, [root / "reports"])
    assert centers.ok, centers.errors
    assert reports.ok, reports.errors
    assert len(reports.batches) == sum(1 for f in data["files"] if f.startswith("reports/"))
    build(settings, clean_target)

    with connect(clean_target) as conn:
        rejects = conn.execute(
            "select source_file, rule_name, source_location from ops.rejects where source_family = 'center_reports'"
        ).fetchall()
        indicators = conn.execute("select count(*) from staging.stg_reports__indicators").fetchone()[0]
        roster = conn.execute("select count(*) from staging.stg_centers__roster").fetchone()[0]
    prefix = str(root) + "/"
    found = Counter((f.removeprefix(prefix), rule, location) for f, rule, location in rejects)
    expected = Counter()
    for defect in data["defects"]:
        if defect["kind"] == "missing_sheet":
            expected[(defect["file"], "missing_sheet", defect["sheet"])] += 1
        elif defect["kind"] == "non_numeric_indicator":
            expected[(defect["file"], "non_numeric_indicator", f"运行数据!{defect['cell']}")] += 1
    assert found == expected
    assert expected
    counted = sum(rows for f, rows in data["files"].items() if f.startswith("reports/"))
    assert indicators == counted - sum(n for (_, rule, _), n in found.items() if rule == "non_numeric_indicator")
    assert roster == sum(rows for f, rows in data["files"].items() if f.startswith("centers/"))

    with connect(clean_target) as conn:
        kept_before = conn.execute("select count(*) from ops.load_rejects").fetchone()[0]
    again = ingest_reports(clean_target, [root / "reports"])
    assert len(again.batches) == len(reports.batches)
    assert all(batch.skipped for batch in again.batches)
    with connect(clean_target) as conn:
        assert conn.execute("select count(*) from ops.load_rejects").fetchone()[0] == kept_before


def test_an_unreadable_workbook_is_kept_with_its_reason_and_the_others_load(clean_target, small_dataset, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    good = next((small_dataset / "reports" / "2024").glob("*.xlsx"))
    shutil.copy2(good, folder / good.name)
    (folder / "年度报告_C000000001_2024.xlsx").write_text("not a workbook")
    report = ingest_reports(clean_target, [folder])
    assert len(report.batches) == 1
    assert len(report.errors) == 1
    assert "not a readable xlsx workbook" in report.errors[0]
    with connect(clean_target) as conn:
        kept = conn.execute("select source_file, rule_name, reason from ops.load_rejects").fetchall()
    assert [(Path(f).name, rule) for f, rule, _ in kept] == [("年度报告_C000000001_2024.xlsx", "unreadable_file")]
