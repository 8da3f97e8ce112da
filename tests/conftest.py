"""Shared fixtures: a throwaway TTW_HOME and a real warehouse for the session.

The warehouse is the embedded server on a free loopback port under a temporary
TTW_HOME, or the scratch database named by TTW_WAREHOUSE_URL when that is set (the
tests drop and recreate the warehouse schemas there: never point it at real data).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from generated import PLATFORM_TOKEN

from ttw.settings import PROJECT_ROOT, Settings, disable_telemetry

disable_telemetry()
# Airflow reads its configuration on first import: give the test session its own home.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="ttw-test-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# the DAGs take a landed file once unchanged for TTW_SETTLE_SECONDS: the tests land files whole
os.environ.setdefault("TTW_SETTLE_SECONDS", "0")
# the DAG tests name delivery folders under pytest's temporary folders as landing_dir
os.environ.setdefault("TTW_LANDING_ROOTS", json.dumps([tempfile.gettempdir()]))

SAMPLE_CONTRACTS = PROJECT_ROOT / "tools" / "ttw_dev" / "samples" / "contracts_sample.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    return free_port()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    if os.environ.get("TTW_WAREHOUSE_URL") and os.environ.get("PYTEST_XDIST_WORKER"):
        # the workers would drop and recreate each other's schemas in the one database
        pytest.exit("TTW_WAREHOUSE_URL names one database: run the tests in one process (TEST_WORKERS=0)", 2)
    home = tmp_path_factory.mktemp("ttw-home")
    return Settings(
        home=home,
        warehouse_port=free_port(),
        warehouse_url=os.environ.get("TTW_WAREHOUSE_URL") or None,
    )


@pytest.fixture(scope="session")
def target(settings: Settings):
    from ttw import warehouse

    resolved = warehouse.ensure_warehouse(settings)
    yield resolved
    if resolved.embedded:
        warehouse.stop_embedded(settings)


@pytest.fixture(scope="session")
def dag_env(settings):
    """The environment of the DAG files: TTW_HOME of the test session."""
    before = os.environ.get("TTW_HOME")
    os.environ["TTW_HOME"] = str(settings.home_dir)
    yield {**os.environ}
    if before is None:
        os.environ.pop("TTW_HOME")
    else:
        os.environ["TTW_HOME"] = before


@pytest.fixture
def clean_target(target):
    """The warehouse with every layer emptied, as on a first run."""
    from ttw.warehouse import reset_layers

    reset_layers(target)
    return target


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated dataset (scale 0.05), made once per session."""
    from ttw_dev.generate import generate

    root = tmp_path_factory.mktemp("generated-small")
    generate(root, scale=0.05, seed=7)
    return root


@pytest.fixture(scope="session")
def defective_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny dataset where three rows in ten are damaged: every defect path is exercised."""
    from ttw_dev.generate import generate

    root = tmp_path_factory.mktemp("generated-defective")
    generate(root, scale=0.02, seed=11, defect_rate=0.3)
    return root


@pytest.fixture(scope="session")
def qingdao_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The calibrated Qingdao sample (scale 1, default seed), made once per session."""
    from ttw_dev.generate import generate

    root = tmp_path_factory.mktemp("generated-scale1")
    generate(root, scale=1.0, seed=42)
    return root


@pytest.fixture
def platform_server(small_dataset):
    """Start sample platform servers over the small dataset on free loopback ports."""
    from ttw_dev.platform_server import serve

    started = []

    def start(**kwargs):
        srv = serve(kwargs.pop("data", small_dataset), port=0, token=PLATFORM_TOKEN, **kwargs)
        srv.start_background()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def sample_contracts(tmp_path: Path) -> Path:
    """A private copy of the sample export (tests may rewrite it)."""
    path = tmp_path / "contracts_sample.csv"  # spans 18 months: no export month in its name
    shutil.copy2(SAMPLE_CONTRACTS, path)
    return path
