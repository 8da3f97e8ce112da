"""Generated exports through ingest and dbt: every injected defect is rejected with its rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from generated import manifest

from ttw.build import build
from ttw.ingest import ingest_contracts
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
    found = {(f.removeprefix(root_prefix), row, rule) for f, row, rule, _ in rejects}
    expected = {(d["file"], d["row"], d["kind"]) for d in data["defects"] if d["file"].startswith("registry/")}
    assert found == expected
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
