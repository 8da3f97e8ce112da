"""docker-compose.yml, checked statically (no Docker engine on the build machines)."""

from __future__ import annotations

import re

import pytest
import yaml

from ttw.settings import PROJECT_ROOT

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
EXPECTED = AIRFLOW_SERVICES | {"airflow-db", "warehouse", "redis", "metabase"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(item.split("=", 1) for item in env) if isinstance(env, list) else env


def test_the_stack_has_every_service(compose):
    assert set(compose["services"]) == EXPECTED


def test_every_image_is_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo, f"{name}: {image}"
        assert tag not in ("", "latest"), f"{name}: {image}"
        if "build" in service:  # the image built here starts from a pinned Airflow release
            dockerfile = service["build"]["dockerfile_inline"]
            assert re.search(r"^FROM apache/airflow:3\.3\.\d+-python3\.11$", dockerfile, re.M), name
            assert re.search(r"uv==\d+\.\d+\.\d+", dockerfile), name
            assert "--frozen" in dockerfile, name


def test_long_running_services_have_healthchecks_and_dependencies_exist(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "airflow-init":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits for {dependency}'s health"
            else:
                assert (dependency, condition) == ("airflow-init", "service_completed_successfully"), name
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_airflow_is_wired_to_the_stack_consistently(compose):
    services = compose["services"]
    envs = {name: _env(services[name]) for name in AIRFLOW_SERVICES}
    shared = envs["airflow-apiserver"]
    for name, env in envs.items():
        for key in (
            "AIRFLOW__CORE__EXECUTOR",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CELERY__BROKER_URL",
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW_CONN_WAREHOUSE",
            "TTW_HOME",
        ):
            assert env.get(key) == shared[key], f"{name}: {key}"
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert re.fullmatch(r"redis://(:[^@]*@)?redis:6379/\d+", shared["AIRFLOW__CELERY__BROKER_URL"])
    assert "@airflow-db/airflow" in shared["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "airflow-apiserver:8080" in shared["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    for key in ("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "GX_ANALYTICS_ENABLED"):
        assert shared[key] == "False", key
    assert shared["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"

    warehouse = _env(services["warehouse"])
    conn = re.fullmatch(r"postgres://([^:]+):([^@]+)@warehouse:5432/(\w+)", shared["AIRFLOW_CONN_WAREHOUSE"])
    assert conn, shared["AIRFLOW_CONN_WAREHOUSE"]
    assert conn.groups() == (warehouse["POSTGRES_USER"], warehouse["POSTGRES_PASSWORD"], warehouse["POSTGRES_DB"])
    assert shared["TTW_WAREHOUSE_URL"].replace("postgresql://", "postgres://") == shared["AIRFLOW_CONN_WAREHOUSE"]
    assert _env(services["airflow-db"])["POSTGRES_PASSWORD"] == "${AIRFLOW_DB_PASSWORD}"
    init = " ".join(services["airflow-init"]["command"])
    from ttw.dagkit import WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS

    steps = ("airflow db migrate", f"airflow pools set {WAREHOUSE_POOL} {WAREHOUSE_POOL_SLOTS}", "ttw roles apply")
    for step in (*steps, "airflow connections add"):
        assert step in init, step


def test_secrets_come_from_env_and_every_variable_is_documented(compose):
    text = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^(\w+)=", example, re.M))
    assert used
    assert used <= documented, used - documented
    assert not (PROJECT_ROOT / ".env").exists() or ".env" in (PROJECT_ROOT / ".gitignore").read_text().split()
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if re.search(r"PASSWORD|SECRET|FERNET", key) and value:
                assert value.startswith("${"), f"{name}: {key} is not taken from .env"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
