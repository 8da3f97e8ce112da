"""The project's DAGs under a real scheduler, as an operator runs them.

One Airflow (LocalExecutor, metadata in the embedded PostgreSQL) for the module; the
tests run in order over one warehouse, each starting from the state the one before left:
a first delivery flows through by itself, two deliveries close together, a broken file, a
bad batch that fails the audit, and its retraction.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from generated import newest_valid_contracts

from ttw.ingest import MARKER
from ttw.local_airflow import wait_until
from ttw.sources import LANDING
from ttw.warehouse import connect, table_checksums
from ttw_dev.dataset import land_dataset, registry_months

pytestmark = pytest.mark.scheduler

CHAIN = ("ingest_contract_registry", "ingest_center_reports", "ingest_platform_exports", "build_warehouse")
ALL = (*CHAIN, "evaluate_centers", "retract_batch")
HELD_BACK = 2  # registry months delivered later, by the second test


def states(api, dag_id: str) -> list[str]:
    return [run["state"] for run in api.runs(dag_id)]


def settle(api, timeout: float = 1200) -> None:
    """Wait until no run of any project DAG is queued or running (asset events included)."""
    wait_until(lambda: api.settled(ALL), timeout, "every DAG run to finish", interval=5)


def deliver(folder: Path, source: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    landed = folder / source.name
    shutil.copy2(source, landed)
    (folder / f"{source.name}{MARKER}").touch()
    return landed


@pytest.fixture(scope="module")
def landing(settings, small_dataset, target):
    """The small dataset landed but for its newest registry months (delivered later)."""
    from ttw.warehouse import reset_layers

    reset_layers(target)
    shutil.rmtree(settings.landing_dir, ignore_errors=True)
    land_dataset(small_dataset, settings.landing_dir)
    contracts = settings.landing_dir / LANDING["contracts"].folder
    held = [path for files in list(registry_months(small_dataset).values())[-HELD_BACK:] for path in files]
    for path in held:
        (contracts / path.name).unlink()
        (contracts / f"{path.name}{MARKER}").unlink()
    return settings.landing_dir


def test_the_chain_runs_by_itself_from_unpausing_to_published_marts(airflow, landing, target, small_dataset):
    """Unpaused, the DAGs run by themselves: the ingests (194 workbooks read at once), then
    one build that audits and publishes, then the evaluation."""
    assert len(list((landing / "reports").rglob("*.xlsx"))) >= 128  # the parallel reader's threshold
    for dag_id in ALL[:-1]:  # retract_batch is manual: unpaused when the operator needs it
        airflow.unpause(dag_id)
    wait_until(lambda: "success" in states(airflow, "evaluate_centers"), 1500, "evaluate_centers to succeed")
    settle(airflow)
    for dag_id in ALL:
        assert set(states(airflow, dag_id)) <= {"success"}, (dag_id, airflow.runs(dag_id))
    with connect(target) as conn:
        grades = dict(
            conn.execute("select grade, count(*) from marts.rpt_center_performance group by grade").fetchall()
        )
        reports = conn.execute("select count(*) from ops.load_batches where source_family = 'center_reports'")
        report_batches = reports.fetchone()[0]
    assert report_batches == len(list((landing / "reports").rglob("*.xlsx")))
    assert len(grades) >= 3, grades  # graded from the reports, not all 不合格 for want of them
    assert table_checksums(target, "marts") == table_checksums(target, "marts_build")


def test_two_deliveries_close_together_give_one_consistent_published_state(
    airflow, landing, target, small_dataset, settings
):
    before = len(airflow.runs("build_warehouse"))
    held = list(registry_months(small_dataset).values())[-HELD_BACK:]
    contracts = landing / LANDING["contracts"].folder
    for path in held[0]:
        deliver(contracts, path)
    airflow.trigger("ingest_contract_registry")
    # the second month lands while the first one's build runs
    wait_until(
        lambda: any(run["state"] == "running" for run in airflow.runs("build_warehouse")[before:]),
        600,
        "the first delivery's build to start",
    )
    for path in held[1]:
        deliver(contracts, path)
    airflow.trigger("ingest_contract_registry")
    settle(airflow)

    builds = airflow.runs("build_warehouse")[before:]
    assert [run["state"] for run in builds] == ["success"] * len(builds), builds
    assert 1 <= len(builds) <= 2  # the second delivery's events coalesce into one next build
    with connect(target) as conn:
        facts = conn.execute("select count(*) from marts.fct_tech_contracts").fetchone()[0]
        published_build = conn.execute(
            "select dbt_build_id from ops.quality_results order by run_at desc limit 1"
        ).fetchone()[0]
    assert facts == len(newest_valid_contracts(small_dataset))
    assert published_build == builds[-1]["dag_run_id"]
    assert table_checksums(target, "marts") == table_checksums(target, "marts_build")


def test_a_broken_file_fails_its_ingest_naming_the_file(airflow, landing, target, sample_contracts):
    lines = sample_contracts.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("contract_amount", "contract_sum")  # a header the registry never exports
    broken = landing / LANDING["contracts"].folder / "contracts_202612.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    published = table_checksums(target, "marts")
    run_id = airflow.trigger("ingest_contract_registry")
    settle(airflow)

    run = next(r for r in airflow.runs("ingest_contract_registry") if r["dag_run_id"] == run_id)
    assert run["state"] == "failed"
    tasks = airflow.tasks("ingest_contract_registry", run_id)
    assert tasks["load_contract_exports"] == "failed"  # nothing new loaded: no asset event, no build
    assert "contracts_202612.csv" in airflow.log("ingest_contract_registry", run_id, "load_contract_exports")
    assert table_checksums(target, "marts") == published
    # the rejected file left the landing folder, with a note of why: tomorrow's run is clean
    rejected = broken.parent / "_rejected"
    assert not broken.exists()
    assert (rejected / broken.name).exists()
    assert "contract_sum" in (rejected / f"{broken.name}.reason.txt").read_text(encoding="utf-8")


def zero_amount_export(small_dataset: Path, path: Path) -> int:
    """The dataset's registry rows again (its UTF-8 CSV exports of the most common layout),
    every amount 0: a delivery the audit must stop."""
    exports, headers = [], []
    for source in sorted((small_dataset / "registry").glob("contracts_*.csv")):
        try:
            headers.append(source.read_text(encoding="utf-8-sig").split("\n", 1)[0].strip())
        except UnicodeDecodeError:  # a GB18030 export: left out
            continue
        exports.append(source)
    common = max(set(headers), key=headers.count)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(common.split(","))
        amounts = [i for i, name in enumerate(common.split(",")) if "额" in name]  # 合同成交额, 技术交易额
        assert len(amounts) == 2, common
        for source, header in zip(exports, headers, strict=True):
            if header != common:
                continue
            with source.open(encoding="utf-8-sig", newline="") as handle:
                for row in list(csv.reader(handle))[1:] * 2:  # twice: well past the critical share
                    for i in amounts:
                        row[i] = "0"
                    writer.writerow(row)
                    rows += 1
    return rows


@pytest.fixture(scope="module")
def before_bad_batch():
    return {}


def test_nothing_is_published_from_a_failed_audit(airflow, landing, target, small_dataset, before_bad_batch):
    before_bad_batch["marts"] = table_checksums(target, "marts")
    builds = len(airflow.runs("build_warehouse"))
    folder = landing / LANDING["contracts"].folder
    bad = folder / "contracts_202611.csv"
    assert zero_amount_export(small_dataset, bad) > 1000
    (folder / f"{bad.name}{MARKER}").touch()
    airflow.trigger("ingest_contract_registry")
    settle(airflow)

    (build,) = airflow.runs("build_warehouse")[builds:]
    assert build["state"] == "failed"
    tasks = airflow.tasks("build_warehouse", build["dag_run_id"])
    assert tasks["audit_build"] == "failed"
    assert tasks["publish_marts"] == "upstream_failed"
    assert "reject_share" in airflow.log("build_warehouse", build["dag_run_id"], "audit_build")
    assert table_checksums(target, "marts") == before_bad_batch["marts"]
    with connect(target) as conn:
        (batch_id,) = conn.execute(
            "select batch_id from ops.load_batches where source_uri like %s", ("%contracts_202611.csv",)
        ).fetchone()
    before_bad_batch["batch_id"] = batch_id
    before_bad_batch["file"] = bad


def test_a_retracted_batch_disappears_from_marts(airflow, target, before_bad_batch):
    builds = len(airflow.runs("build_warehouse"))
    airflow.unpause("retract_batch")
    airflow.trigger("retract_batch", {"batch_id": before_bad_batch["batch_id"], "reason": "every amount is 0"})
    settle(airflow)

    assert set(states(airflow, "retract_batch")) == {"success"}
    newer = airflow.runs("build_warehouse")[builds:]
    assert [run["state"] for run in newer] == ["success"], newer
    assert table_checksums(target, "marts") == before_bad_batch["marts"]
    # its file left the landing folder: the next daily ingest does not load it again
    bad = before_bad_batch["file"]
    assert not bad.exists()
    assert "rule: retracted" in (bad.parent / "_rejected" / f"{bad.name}.reason.txt").read_text(encoding="utf-8")
