"""Secrets only from the environment or Airflow connections, and every local service on loopback."""

from __future__ import annotations

import re
import subprocess

import yaml

from ttw.orchestrate import airflow_env
from ttw.settings import PROJECT_ROOT
from ttw.warehouse import connect
from ttw_dev.platform_server import serve

# what a committed credential looks like
CREDENTIALS = {
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:(?P<value>[^\s@/]+)@"),
    "secret assigned a literal": re.compile(
        r"(?i)\b\w*(?:password|passwd|secret|token|api_key)\w*\b\s*[:=]\s*[\"'](?P<value>[^\"'\s]{6,})[\"']"
    ),
    # in configuration (.env, YAML, INI, TOML) a value needs no quotes
    "secret in a configuration file": re.compile(
        r"(?im)^\s*[\w.-]*(?:password|passwd|secret|token|api_key)[\w.-]*\s*[:=][ \t]*(?P<value>[^\s\"'#]{6,})"
    ),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "cloud or forge key": re.compile(r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,})"),
}
# values that are not secrets: interpolated from the environment, placeholders, regular
# expressions, and the throwaway passwords of the test suite's own temporary warehouse
NOT_SECRETS = re.compile(
    r"^(?:\$\{?\w+\}?:?-?\}?|\{\w*\}|<[^>]+>|\*+|x+|token|pass|password)$|^change-?me|\[\^|\\\*", re.IGNORECASE
)
CONFIG_FILES = (".env", ".yml", ".yaml", ".cfg", ".ini", ".toml", ".conf", ".example")
# a test's made-up credential (for a URL parser, a redaction check) is short or says "test"
DUMMY_IN_TESTS = 10


def is_secret(file: str, value: str) -> bool:
    if NOT_SECRETS.search(value):
        return False
    if file.startswith("tests/"):
        return len(value) >= DUMMY_IN_TESTS and "test" not in value.lower()
    return True


def applies(kind: str, file: str) -> bool:
    return kind != "secret in a configuration file" or file.endswith(CONFIG_FILES) or "/.env" in f"/{file}"


SELF = "tests/reliability/test_security.py"  # its made-up samples are what the scan must find


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_credential_is_committed():
    files = tracked_files()
    assert "Makefile" in files
    found = []
    for name in files:
        path = PROJECT_ROOT / name
        if not path.is_file() or path.suffix in (".xlsx", ".png", ".lock") or name == SELF:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in CREDENTIALS.items():
            if not applies(kind, name):
                continue
            for match in pattern.finditer(text):
                value = match.groupdict().get("value") or match.group(0)
                if is_secret(name, value):
                    found.append((name, text.count("\n", 0, match.start()) + 1, kind, match.group(0)[:80]))
    assert found == []
    assert not [f for f in files if f.rsplit("/", 1)[-1] == ".env" or f.endswith(".secret")]
    for local in (".ttw/warehouse.secret", ".env"):  # where local secrets live is never committed
        assert subprocess.run(["git", "check-ignore", "-q", local], cwd=PROJECT_ROOT).returncode == 0


def test_the_scan_finds_what_it_looks_for():
    samples = {
        "password in a URL": ("plugins/ttw/settings.py", "TTW_WAREHOUSE_URL=postgresql://ttw_admin:s3cr3t-Pa55@db/ttw"),
        "secret assigned a literal": ("plugins/ttw/settings.py", 'platform_token = "hM9x2LqZr7"'),
        "secret in a configuration file": ("docker-compose.yml", "      POSTGRES_PASSWORD: hunter2real"),
        "private key": ("docs/key.md", "-----BEGIN PRIVATE KEY-----"),
        "cloud or forge key": ("README.md", "key AKIAABCDEFGHIJKLMNOP"),
    }
    found = {
        kind
        for kind, (file, sample) in samples.items()
        for match in CREDENTIALS[kind].finditer(sample)
        if applies(kind, file) and is_secret(file, match.groupdict().get("value") or match.group(0))
    }
    assert found == set(CREDENTIALS)
    # what is not a secret: interpolation from the environment, a short dummy in a test
    assert not is_secret("docker-compose.yml", "${WAREHOUSE_ADMIN_PASSWORD}")
    assert not is_secret("tests/unit/test_x.py", "hunter2")
    assert is_secret("tests/unit/test_x.py", "Zr8kP2mQ9vLx4")


def test_local_services_listen_on_loopback_only(target, settings, small_dataset):
    if target.embedded:
        with connect(target) as conn:
            assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
    server = serve(small_dataset, port=0, token="t")
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    assert airflow_env(settings, target)["AIRFLOW__API__HOST"] == "127.0.0.1"
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    published = [str(p) for service in compose["services"].values() for p in service.get("ports", [])]
    assert published
    assert [p for p in published if not p.startswith("127.0.0.1:")] == []
