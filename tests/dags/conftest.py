from __future__ import annotations

import os

import pytest

from ttw.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def dag_env(settings):
    """TTW_HOME of the test session, holding the dbt manifest build_warehouse renders from."""
    from ttw.build import write_manifest
    from ttw.warehouse import resolve_target

    write_manifest(settings, resolve_target(settings))
    before = os.environ.get("TTW_HOME")
    os.environ["TTW_HOME"] = str(settings.home_dir)
    yield {**os.environ}
    if before is None:
        os.environ.pop("TTW_HOME")
    else:
        os.environ["TTW_HOME"] = before


@pytest.fixture(scope="session")
def dagbag(dag_env):
    """One DagBag for the session, parsed from the project's dags/ folder."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=PROJECT_ROOT / "dags")
