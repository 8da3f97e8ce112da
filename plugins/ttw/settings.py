"""Every setting the project reads from the environment, in one place.

Nothing else in the package reads environment variables: functions receive a
``Settings`` (or the values they need) as arguments.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Telemetry switches for the tools the project drives. There is no internet on the
# build machines, and calls out hang, so these are forced off in every process that
# runs dbt, Airflow or Great Expectations.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
}


class Settings(BaseSettings):
    """Project settings, from ``TTW_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTW_", extra="ignore")

    home: Path = Field(default=Path(".ttw"), description="Embedded warehouse data, Airflow home, landing, outputs.")
    warehouse_url: str | None = Field(
        default=None, description="An external PostgreSQL (>=15). Unset: the embedded server under TTW_HOME."
    )
    warehouse_port: int = Field(default=55432, description="Loopback TCP port of the embedded server.")
    warehouse_db: str = Field(default="ttw", description="Database name inside the embedded server.")
    platform_token: str | None = Field(
        default=None, description="Bearer token of the platform API (the sample server's, or a real platform's)."
    )
    platform_max_pages: int = Field(
        default=10_000,
        description="Pages of one platform resource a run reads before it stops with an error "
        "(a listing that never ends).",
    )
    platform_future_tolerance_hours: float = Field(
        default=24.0,
        description="How far past now a platform record's updated_at may lie; a later record is rejected "
        "(future_timestamp).",
    )
    landing_roots: list[Path] = Field(
        default_factory=list,
        description="Folders the ingest DAGs' landing_dir param may name besides TTW_HOME/landing (a JSON list).",
    )
    loader_password: str | None = Field(default=None, description="Password of role ttw_loader (unset: NOLOGIN).")
    transform_password: str | None = Field(default=None, description="Password of role ttw_transform (unset: NOLOGIN).")
    bi_reader_password: str | None = Field(default=None, description="Password of role bi_reader (unset: NOLOGIN).")
    settle_seconds: float = Field(
        default=30.0,
        description="The DAGs take a landed file once unchanged this long, or with NAME.done beside it "
        "(`ttw ingest --settle`, default 0).",
    )
    lock_timeout_seconds: float = Field(
        default=600.0,
        description="How long build, audit and publish wait for a stage lock held by another run "
        "(`--lock-timeout`; `--no-wait` fails at once).",
    )
    airflow_port: int = Field(
        default=8080, description="Loopback port of the local Airflow's API server and UI (`make airflow`)."
    )
    airflow_db_url: str | None = Field(
        default=None,
        description="Airflow's metadata database (a SQLAlchemy URL). Unset: database `airflow` on the "
        "warehouse's server (the embedded one, or TTW_WAREHOUSE_URL's, created when missing).",
    )
    project_dir: Path = Field(
        default=PROJECT_ROOT,
        description="The checkout holding dags/, dbt_project/ and expectations/ (needed when ttw is installed "
        "as a regular package, e.g. in the Airflow image).",
    )

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def pgdata(self) -> Path:
        return self.home_dir / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return self.home_dir / "airflow"

    @property
    def landing_dir(self) -> Path:
        return self.home_dir / "landing"

    @property
    def out_dir(self) -> Path:
        return self.home_dir / "out"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def dags_dir(self) -> Path:
        return self.project_dir / "dags"

    @property
    def plugins_dir(self) -> Path:
        return self.project_dir / "plugins"


def disable_telemetry(environ: dict[str, str] | None = None) -> None:
    """Force every telemetry switch off in ``environ`` (default: this process)."""
    target = os.environ if environ is None else environ
    target.update(TELEMETRY_OFF)


def get_settings() -> Settings:
    return Settings()
