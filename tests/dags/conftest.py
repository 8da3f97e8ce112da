from __future__ import annotations

import pytest

from ttw.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def dagbag(dag_env):
    """One DagBag for the session, parsed from the project's dags/ folder."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=PROJECT_ROOT / "dags")
