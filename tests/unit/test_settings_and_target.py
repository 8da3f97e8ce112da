from __future__ import annotations

import pytest

from ttw.errors import TTWError
from ttw.settings import Settings
from ttw.warehouse import resolve_target, target_from_url


def test_embedded_target_is_loopback_under_ttw_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TTW_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("TTW_HOME", str(tmp_path))
    monkeypatch.setenv("TTW_WAREHOUSE_PORT", "61234")
    settings = Settings()
    target = resolve_target(settings)
    assert target.embedded
    assert target.url == "postgresql://postgres@127.0.0.1:61234/ttw"
    assert settings.pgdata == tmp_path.resolve() / "pgdata"


def test_external_url_wins_and_password_is_masked(monkeypatch):
    monkeypatch.setenv("TTW_WAREHOUSE_URL", "postgresql://etl:s3cr%40t@db.internal:6543/warehouse")
    target = resolve_target(Settings())
    assert not target.embedded
    assert (target.host, target.port, target.user, target.password, target.dbname) == (
        "db.internal",
        6543,
        "etl",
        "s3cr@t",
        "warehouse",
    )
    assert "s3cr" not in target.display_url
    assert target.display_url == "postgresql://etl:***@db.internal:6543/warehouse"
    assert target.libpq_env()["PGPASSWORD"] == "s3cr@t"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "postgresql:///nohost"])
def test_a_url_that_is_not_postgres_is_a_clear_error(url):
    with pytest.raises(TTWError, match="is not a PostgreSQL URL"):
        target_from_url(url)


def test_bad_port_is_a_clear_error():
    with pytest.raises(TTWError, match="invalid port"):
        target_from_url("postgresql://u:pw@host:99999/db")


def test_url_parameters_such_as_sslmode_are_kept():
    target = target_from_url("postgresql://etl:pw@db.example:5432/dw?sslmode=verify-full&application_name=ttw")
    assert target.url == "postgresql://etl:pw@db.example:5432/dw?sslmode=verify-full&application_name=ttw"
    assert target.sslmode == "verify-full"
    assert target.libpq_env()["PGSSLMODE"] == "verify-full"
    assert target.airflow_conn_uri().startswith("postgres://etl:pw@db.example:5432/dw?sslmode=verify-full")
