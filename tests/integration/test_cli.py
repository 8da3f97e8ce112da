"""The installed `ttw` entry point, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TTW = str(Path(sys.executable).with_name("ttw"))


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TTW, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in (
        "warehouse",
        "generate",
        "platform",
        "ingest",
        "build",
        "publish",
        "demo",
        "airflow",
        "run-dag",
        "bench",
        "roles",
        "local-airflow",
    ):
        assert command in result.stdout
    warehouse_help = run("warehouse", "--help").stdout
    for sub in ("start", "stop", "status", "url", "psql"):
        assert sub in warehouse_help


def test_url_prints_the_external_target_with_the_password_masked():
    result = run("warehouse", "url", TTW_WAREHOUSE_URL="postgresql://bi:hunter2@db.example:5433/dw")
    assert result.returncode == 0
    assert result.stdout.strip() == "postgresql://bi:***@db.example:5433/dw"


@pytest.fixture
def unreachable_url(unused_port: int) -> str:
    return f"postgresql://etl:pw@127.0.0.1:{unused_port}/dw"


def test_unreachable_warehouse_is_one_clear_line_without_traceback(unreachable_url, tmp_path):
    csv = tmp_path / "contracts_202401.csv"
    csv.write_text("registration_no\n")
    result = run("ingest", "contracts", str(csv), TTW_WAREHOUSE_URL=unreachable_url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot reach the warehouse at postgresql://etl:***@127.0.0.1" in result.stderr
    assert "pw@" not in result.stderr


def test_status_exits_non_zero_when_the_warehouse_is_down(unreachable_url):
    result = run("warehouse", "status", TTW_WAREHOUSE_URL=unreachable_url)
    assert result.returncode == 1
    assert result.stdout.startswith("not running")


def test_airflow_environment_finds_the_projects_airflow_first(tmp_path, monkeypatch):
    """`airflow standalone` starts its parts as `airflow` by name: it must find this venv's."""
    import shutil

    from ttw.orchestrate import airflow_env
    from ttw.settings import Settings
    from ttw.warehouse import target_from_url

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    settings = Settings(home=tmp_path)
    env = airflow_env(settings, target_from_url("postgresql://etl:pw@db.example:5432/dw"))
    assert shutil.which("airflow", path=env["PATH"]) == str(Path(sys.executable).with_name("airflow"))
    assert env["AIRFLOW_CONN_WAREHOUSE"] == "postgres://etl:pw@db.example:5432/dw"
    assert env["AIRFLOW_HOME"] == str(tmp_path.resolve() / "airflow")
    assert env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"


def test_embedded_lifecycle_through_the_entry_point(tmp_path, unused_port):
    env = {"TTW_HOME": str(tmp_path / "home"), "TTW_WAREHOUSE_PORT": str(unused_port), "TTW_WAREHOUSE_URL": ""}
    assert run("warehouse", "status", **env).returncode == 1
    started = run("warehouse", "start", **env)
    try:
        assert started.returncode == 0, started.stderr
        assert f"127.0.0.1:{unused_port}/ttw" in started.stdout
        status = run("warehouse", "status", **env)
        assert status.returncode == 0
        assert status.stdout.startswith("running:")
        url = run("warehouse", "url", **env).stdout.strip()
        assert url == f"postgresql://postgres:***@127.0.0.1:{unused_port}/ttw"
        # the superuser's password, made at initdb, is readable by this user only and never printed
        secret = tmp_path / "home" / "warehouse.secret"
        assert secret.stat().st_mode & 0o777 == 0o600
        assert secret.read_text().strip() not in started.stdout + status.stdout
        # another TTW_HOME pointed at the same port sees a server that is not its own
        other = run("warehouse", "status", **{**env, "TTW_HOME": str(tmp_path / "other")})
        assert other.returncode == 1
        assert "is taken by another PostgreSQL" in other.stdout
    finally:
        stopped = run("warehouse", "stop", **env)
    assert stopped.stdout.strip() == "warehouse stopped"
    assert run("warehouse", "status", **env).returncode == 1


def test_ingest_then_build_reports_loaded_skipped_and_rejected_rows(clean_target, defective_dataset, tmp_path):
    env = {"TTW_WAREHOUSE_URL": clean_target.url, "TTW_HOME": str(tmp_path)}
    export = next(p for p in sorted((defective_dataset / "registry").glob("contracts_*.csv")))
    first = run("ingest", "contracts", str(export), **env)
    assert first.returncode == 0, first.stderr
    assert "1 files" in first.stdout
    again = run("ingest", "contracts", str(export), **env)
    assert "skipped, identical content already loaded" in again.stdout
    built = run("build", **env)
    assert built.returncode == 0, built.stderr
    assert "rejected rows (in ops.rejects):" in built.stdout
    assert "registry_contracts:" in built.stdout
