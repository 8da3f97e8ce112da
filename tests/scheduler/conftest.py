"""A real Airflow for the scheduler suite: scheduler, DAG processor, triggerer and API server.

Started once per module on loopback ports with the project's DAGs (``ttw.local_airflow``,
as ``make airflow`` runs it: LocalExecutor, metadata in the embedded PostgreSQL), and
driven only as an operator drives it: files land in the landing folder, and DAGs are
unpaused, triggered and read back through the REST API.
"""

from __future__ import annotations

import socket

import pytest
from generated import PLATFORM_TOKEN

from ttw.local_airflow import LocalAirflow, wait_until
from ttw_dev.dataset import platform_resources
from ttw_dev.demo import platform_connections


@pytest.fixture(scope="module")
def platform(small_dataset):
    from ttw_dev.platform_server import serve

    server = serve(small_dataset, port=0, token=PLATFORM_TOKEN)
    server.start_background()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def airflow(settings, target, dag_env, platform, small_dataset):
    """The local Airflow over the session's warehouse; the API client, every DAG paused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    local = settings.model_copy(update={"airflow_port": port})
    env = {
        **platform_connections(platform, PLATFORM_TOKEN, list(platform_resources(small_dataset))),
        # the REST API without logins, on loopback, for the test only
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }
    instance = LocalAirflow(local, target, extra_env=env)
    instance.start()
    try:
        api = instance.api()
        wait_until(lambda: len(api.get("/dags", limit=100)["dags"]) >= 5, 180, "the DAGs to be parsed")
        yield api
    finally:
        instance.stop()
