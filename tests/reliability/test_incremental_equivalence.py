"""One more registry month through ``ttw build --changed`` gives exactly the marts a full
refresh of the same data gives: every mart's rows, compared by an md5 over all of them.
The --changed build scopes its tests to the new batches; a full refresh tests everything."""

from __future__ import annotations

import json

from ttw.build import build
from ttw.ingest import ingest_contracts
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset, registry_months

# every mart of marts_build (tables the models build), by its rows; data_freshness names
# the build that made it (build_id, built_at), which differs from build to build by design
ROW = "(to_jsonb(t) - 'build_id' - 'built_at')::text"
FINGERPRINT = f"select md5(coalesce(string_agg({ROW}, ',' order by {ROW}), '')) from {{}} as t"


def _marts(target) -> dict[str, str]:
    with connect(target) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select format('%I.%I', schemaname, tablename) from pg_tables"
                " where schemaname = 'marts_build' order by tablename"
            )
        ]
        return {table: conn.execute(FINGERPRINT.format(table)).fetchone()[0] for table in tables}


def _last_results(settings) -> dict:
    path = settings.home_dir / "dbt" / "target" / "run_results.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_changed_month_equals_full_refresh_and_tests_read_only_the_new_batches(settings, target, small_dataset):
    reset_layers(target)
    months = registry_months(small_dataset)
    newest_files = list(months.values())[-1]
    assert ingest_dataset(target, small_dataset, hold_back_months=1).ok
    build(settings, target, full_refresh=True)
    first = _marts(target)

    month = ingest_contracts(target, newest_files)
    assert month.rows_loaded > 0
    build(settings, target, changed=True)
    results = _last_results(settings)
    assert results["args"]["vars"] == {"scope_to_new_batches": True}
    scoped = [
        r["unique_id"]
        for r in results["results"]
        if r["unique_id"].startswith("test.") and "build_scope_batches" in (r.get("compiled_code") or "")
    ]
    assert any("not_null_fct_tech_contracts" in uid for uid in scoped)
    assert any("assert_contract_facts_match_valid_raw" in uid for uid in scoped)
    failed = [(r["unique_id"], r["status"]) for r in results["results"] if r["status"] not in ("pass", "success")]
    assert [uid for uid, status in failed if not (uid.startswith("exposure.") and status == "no-op")] == []
    incremental = _marts(target)
    assert incremental != first  # the month changed the marts

    build(settings, target, full_refresh=True)
    assert "scope_to_new_batches" not in (_last_results(settings)["args"].get("vars") or {})
    refreshed = _marts(target)
    differing = sorted(table for table in refreshed if incremental.get(table) != refreshed[table])
    assert set(incremental) == set(refreshed)
    assert differing == [], differing
