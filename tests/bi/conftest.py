"""Superset as `ttw bi` sets it up, over the small dataset published, on a free loopback port."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from ttw.bi import setup, start_server, stop_server, wait_healthy
from ttw.build import build
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import reset_layers
from ttw_dev.dataset import ingest_dataset


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def published(settings, target, small_dataset):
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)
    return target


@pytest.fixture(scope="session")
def superset(settings, published):
    """The setup's result and the base URL of a running Superset."""
    lines: list[str] = []
    done = setup(settings, say=lines.append)
    url = f"http://127.0.0.1:{free_port()}"
    process = start_server(done.paths, int(url.rsplit(":", 1)[1]))
    try:
        wait_healthy(url, process)
        yield done, url, lines
    finally:
        stop_server(process)


class Api:
    """Superset's REST API as the admin, with a bearer token."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url, self.http = url, requests.Session()
        login = self.http.post(
            f"{url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=60,
        )
        assert login.status_code == 200, login.text
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str, **params) -> requests.Response:
        query = {"q": json.dumps(params)} if params else None
        return self.http.get(f"{self.url}/api/v1/{path}", params=query, timeout=120)


@pytest.fixture(scope="session")
def api(superset) -> Api:
    done, url, _ = superset
    return Api(url, done.admin_user, done.admin_password)
