"""Airflow Assets that link the DAGs (data-aware scheduling). Import-light: DAG files use it."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_REGISTRY_CONTRACTS = Asset(name="raw.registry_contracts", uri="ttw://warehouse/raw/registry_contracts")
MARTS = Asset(name="marts", uri="ttw://warehouse/marts")
