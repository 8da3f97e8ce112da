"""Airflow Assets that link the DAGs (data-aware scheduling). Import-light: DAG files use it.

ingest_contract_registry ─┐
ingest_center_reports ────┼─▶ build_warehouse (build → audit → publish) ─▶ evaluate_centers
ingest_platform_exports ──┘                                          (MARTS)
"""

from __future__ import annotations

from airflow.sdk import Asset

RAW_REGISTRY_CONTRACTS = Asset(name="raw.registry_contracts", uri="ttw://warehouse/raw/registry_contracts")
RAW_CENTER_REPORTS = Asset(name="raw.center_reports", uri="ttw://warehouse/raw/center_reports")
RAW_PLATFORM_RECORDS = Asset(name="raw.platform_records", uri="ttw://warehouse/raw/platform_records")
RAW = (RAW_REGISTRY_CONTRACTS, RAW_CENTER_REPORTS, RAW_PLATFORM_RECORDS)
MARTS = Asset(name="marts", uri="ttw://warehouse/marts")
