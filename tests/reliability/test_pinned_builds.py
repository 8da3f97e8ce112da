"""One build on its way to BI: what marts_build holds is known even when a build never ended,
and the DAG publishes a build nobody published, even with nothing new to load."""

from __future__ import annotations

import pytest
from generated import newest_valid_contracts

from ttw.build import _mark_build, build
from ttw.errors import Refusal
from ttw.ingest import ensure_raw_tables
from ttw.orchestrate import prepare_airflow, run_dag
from ttw.publish import last_published_build, publish
from ttw.quality import audit
from ttw.warehouse import connect
from ttw_dev.dataset import ingest_dataset


def test_a_build_stopped_midway_is_neither_audited_nor_published(settings, clean_target):
    """A build killed before dbt wrote a single result still names itself in
    ops.marts_build_state, unfinished: audit and publish refuse it instead of taking the tables
    of the build before for it."""
    ensure_raw_tables(clean_target)
    _mark_build(clean_target, "killed-build")  # what a build writes as it starts; it never ends
    with pytest.raises(Refusal, match="build killed-build did not finish"):
        audit(settings, clean_target)
    with pytest.raises(Refusal, match="build killed-build did not finish"):
        publish(settings, clean_target)


def test_the_dag_publishes_a_build_nobody_published_even_with_nothing_new(
    settings, clean_target, dag_env, small_dataset
):
    prepare_airflow(settings, clean_target)
    assert ingest_dataset(clean_target, small_dataset, platforms=False).ok
    build(settings, clean_target)  # a build from the command line, never audited nor published

    outcome = run_dag(settings, clean_target, "build_warehouse")
    assert outcome.state == "success", outcome
    assert last_published_build(clean_target) == outcome.run_id  # built again under its own id, and published
    with connect(clean_target) as conn:
        published = conn.execute("select count(*) from marts.fct_tech_contracts").fetchone()[0]
    assert published == len(newest_valid_contracts(small_dataset))

    again = run_dag(settings, clean_target, "build_warehouse")
    assert again.state == "success", again  # nothing new, marts hold the last build: skipped through
    assert last_published_build(clean_target) == outcome.run_id
