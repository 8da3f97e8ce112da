"""Airflow Assets that link the DAGs (data-aware scheduling). Import-light: DAG files use it.

ingest_contract_registry ─┐
ingest_center_reports ────┼─▶ build_warehouse (build → audit → publish) ─▶ evaluate_centers
ingest_platform_exports ──┘                                          (MARTS)

The raw assets are the source registry's (``ttw.sources``): one per family's ``asset``.
"""

from __future__ import annotations

from airflow.sdk import Asset

from ttw import sources


def _raw(name: str) -> Asset:
    schema, table = name.split(".")
    return Asset(name=name, uri=f"ttw://warehouse/{schema}/{table}")


RAW_BY_NAME: dict[str, Asset] = {name: _raw(name) for name in sources.assets()}
RAW_REGISTRY_CONTRACTS = RAW_BY_NAME[sources.REGISTRY_CONTRACTS.asset]
RAW_CENTER_REPORTS = RAW_BY_NAME[sources.CENTER_REPORTS.asset]
RAW_PLATFORM_RECORDS = RAW_BY_NAME[sources.PLATFORM_RECORDS.asset]
RAW = tuple(RAW_BY_NAME.values())
MARTS = Asset(name="marts", uri="ttw://warehouse/marts")


def raw_asset(family: str) -> Asset:
    """The raw asset a source family's loads (and retractions) emit."""
    return RAW_BY_NAME[sources.BY_NAME[family].asset]
