"""The source registry: one declaration per source family, everything else derives from it.

A source family is what one kind of upstream delivers and one ingest DAG loads: its raw
tables and their columns (with the export's header labels, and which values may never be
empty), where its files land and how a file's name gives its period, the dbt model that
validates its rows (``base_…_checks``, the validation layer), the rules that model can
reject a row by, and the Airflow asset its loads emit.

Derived from here (and tested to agree, see ``tests/unit/test_sources.py``):

- the loaders' raw tables, header mapping and landing patterns (``ttw.ingest``,
  ``ttw.extract.registry``, ``ttw.extract.reports``), the DAGs' period filters;
- the assets (``ttw.assets``) and the DAG integrity test;
- the platforms and their resources (``ttw.extract.platform``, the seed
  ``dbt_project/seeds/platforms.csv``);
- dbt: the column and required-field lists of the check models and the union of
  ``ops.rejects``, through the generated macro file ``dbt_project/macros/sources.sql``
  (``python -m ttw.sources`` writes it; a unit test fails while it is stale), and the
  raw columns documented in each source's ``_sources.yml``.

How to add a source family is in docs/architecture.md ("Where to put a new …", "Source family").
Import-light on purpose: the DAG files import it through ``ttw.assets``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_MACROS = PROJECT_ROOT / "dbt_project" / "macros" / "sources.sql"
PLATFORMS_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "platforms.csv"
# the metadata every raw row carries beside the source's own columns
RAW_METADATA = ("_batch_id", "_source_file", "_row_number", "_loaded_at")


@dataclass(frozen=True)
class Column:
    """A source column as the raw table holds it (text), with the export's header label."""

    name: str
    label: str | None = None  # the export's header label, when the export may use one
    value_required: bool = False  # a row whose value is empty is rejected (missing_required_field)
    header_required: bool = False  # a file whose header lacks the column is rejected whole


@dataclass(frozen=True)
class RawTable:
    """A raw landing table: the source's canonical columns, all text, plus RAW_METADATA."""

    schema: str
    name: str
    columns: tuple[str, ...]
    # column -> the only values a landed row may hold (a landing check blocks a publish otherwise)
    allowed: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def ident(self):
        from psycopg import sql

        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))

    @property
    def row_sequence(self):
        from psycopg import sql

        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(f"{self.name}__row_seq"))

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Landing:
    """Where a family's files land (a folder under ``$TTW_HOME/landing``), which names are
    deliveries, and how a delivery's name gives its period (group 1: YYYYMM or YYYY)."""

    folder: str
    patterns: tuple[str, ...]
    period: re.Pattern[str]


@dataclass(frozen=True)
class SourceFamily:
    """One kind of upstream delivery, as ``ops.load_batches.family`` and ``ops.rejects`` name it."""

    name: str
    title: str
    label_zh: str  # how data_freshness names it to BI
    label_en: str
    tables: tuple[RawTable, ...]
    columns: tuple[Column, ...]  # the columns of the first table, with labels and requirements
    check_model: str  # the dbt model of the validation layer: one row per raw row, is_valid + failures
    reject_location: str  # SQL over the check model's row (alias `checks`): where in the delivery
    reject_rules: tuple[str, ...]  # every rule the check model can reject a row by
    asset: str  # the Airflow asset the family's loads emit (several families may share one)
    dag_id: str  # the DAG that ingests it
    landing: Landing | None = None  # None: not delivered as files (an HTTP API)
    checks_table: str | None = None  # the raw table the check model has a row per row of (default: the first)

    @property
    def table(self) -> RawTable:
        return self.tables[0]

    @property
    def checked(self) -> RawTable:
        """The raw table whose rows the check model checks, one check row each."""
        return next(t for t in self.tables if t.name == (self.checks_table or self.table.name))

    @property
    def required_values(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.value_required)

    @property
    def header_required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.header_required)

    @property
    def labels(self) -> dict[str, str]:
        return {c.label: c.name for c in self.columns if c.label}


@dataclass(frozen=True)
class Platform:
    """A platform of the platform API and the resources it offers (the seed dim_platform reads)."""

    code: str
    name: str
    name_en: str
    resources: tuple[str, ...]


def _registry_columns() -> tuple[Column, ...]:
    # label (as exported by the registration office) -> column, in export order; value: may
    # never be empty; header: a file must name it (a foreign buyer has no region code, but
    # the column must be there)
    spec = (
        ("合同登记编号", "registration_no", "value"),
        ("项目名称", "project_name", ""),
        ("合同类别", "contract_type", "value"),
        ("合同子类", "contract_subtype", ""),
        ("签订日期", "signed_on", "value"),
        ("登记日期", "registered_on", "value"),
        ("卖方名称", "seller_name", "value"),
        ("卖方统一社会信用代码", "seller_credit_code", "value"),
        ("卖方性质", "seller_nature_code", ""),
        ("卖方所在地区代码", "seller_region_code", "value"),
        ("买方名称", "buyer_name", "value"),
        ("买方统一社会信用代码", "buyer_credit_code", ""),
        ("买方性质", "buyer_nature_code", ""),
        ("买方所在地区代码", "buyer_region_code", "header"),
        ("买方国别", "buyer_country_code", ""),
        ("合同成交额(元)", "contract_amount", "value"),
        ("技术交易额(元)", "tech_transaction_amount", "value"),
        ("技术领域", "tech_field", "value"),
        ("知识产权类型", "ip_type", ""),
        ("登记状态", "status", "value"),
        ("联系人", "contact_name", ""),
        ("联系电话", "contact_phone", ""),
    )
    return tuple(
        Column(name, label, value_required=need == "value", header_required=need in ("value", "header"))
        for label, name, need in spec
    )


def _roster_columns() -> tuple[Column, ...]:
    # a roster's header names every column; every value but the approval batch is required
    names = (
        "center_code",
        "center_name",
        "host_org_name",
        "host_credit_code",
        "district_code",
        "industry",
        "batch",
        "approved_on",
        "build_start",
        "build_end",
        "status",
    )
    return tuple(Column(name, value_required=name != "batch", header_required=True) for name in names)


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
# the text encodings CSV deliveries come in: PostgreSQL's name (what COPY is told) -> Python's
# codec, in the order a line is tried (GB18030 decodes almost any bytes, so it comes last)
CSV_ENCODINGS: dict[str, str] = {"UTF8": "utf-8", "GB18030": "gb18030"}

REGISTRY_CONTRACTS = SourceFamily(
    name="registry_contracts",
    title="Technology contract registry exports (技术合同认定登记), monthly",
    label_zh="技术合同登记",
    label_en="Contract registry exports",
    tables=(RawTable("raw", "registry_contracts", tuple(c.name for c in _registry_columns())),),
    columns=_registry_columns(),
    check_model="base_registry__contract_checks",
    reject_location="null::text",
    reject_rules=(
        "missing_required_field",
        "malformed_registration_no",
        "invalid_date",
        "future_date",
        "date_out_of_range",
        "invalid_amount",
        "non_positive_amount",
        "amount_out_of_range",
        "tech_amount_exceeds_contract",
        "unknown_region_code",
        "malformed_credit_code",
        "unknown_contract_type",
        "unknown_tech_field",
        "unknown_status",
        "duplicate_row",
    ),
    asset="raw.registry_contracts",
    dag_id="ingest_contract_registry",
    # CSV and workbook exports (an .xlsb found is rejected by name, never skipped)
    landing=Landing(
        "contracts",
        ("contracts_*.csv", *(f"contracts_*{suffix}" for suffix in WORKBOOK_SUFFIXES)),
        re.compile(r"contracts_(\d{6})"),
    ),
)

CENTER_ROSTER = SourceFamily(
    name="center_roster",
    title="The yearly roster of Technology Innovation Centers (CSV)",
    label_zh="技术创新中心名单",
    label_en="Center rosters",
    tables=(RawTable("raw", "center_roster", tuple(c.name for c in _roster_columns())),),
    columns=_roster_columns(),
    check_model="base_centers__roster_checks",
    reject_location="null::text",
    reject_rules=(
        "missing_required_field",
        "invalid_date",
        "date_out_of_range",
        "malformed_credit_code",
        "unknown_region_code",
        "unknown_status",
        "duplicate_center",
        "unknown_roster_year",
    ),
    asset="raw.center_reports",
    dag_id="ingest_center_reports",
    landing=Landing("centers", ("centers_*.csv",), re.compile(r"centers_(\d{4})")),
)

CENTER_REPORTS = SourceFamily(
    name="center_reports",
    title="Annual reports of Technology Innovation Centers (workbooks, one per center and year)",
    label_zh="技术创新中心年度报告",
    label_en="Center annual reports",
    tables=(
        RawTable("raw", "report_fields", ("label", "value", "cell")),
        RawTable("raw", "report_indicators", ("indicator", "unit", "value", "cell")),
        RawTable("raw", "report_achievements", ("achievement_name", "achievement_type", "completed", "note", "cell")),
        RawTable("raw", "report_plans", ("text", "cell")),
    ),
    columns=(),  # cells of a workbook: the extractor maps them (ttw.extract.reports)
    check_model="base_reports__indicator_checks",
    checks_table="report_indicators",
    reject_location="checks.cell",
    reject_rules=(
        "missing_required_field",
        "non_numeric_indicator",
        "amount_out_of_range",
        "unknown_indicator",
        "duplicate_indicator",
        "center_not_in_system",
    ),
    asset="raw.center_reports",
    dag_id="ingest_center_reports",
    landing=Landing(
        "reports", tuple(f"年度报告_*{suffix}" for suffix in WORKBOOK_SUFFIXES), re.compile(r"_(\d{4})\.\w+$")
    ),
)

PLATFORMS: tuple[Platform, ...] = (
    Platform("tech_market", "技术交易市场", "Technology market", ("achievements", "demands", "matches")),
    Platform("challenges", "揭榜挂帅平台", "Open competition (challenge) platform", ("challenges",)),
    Platform("finance", "科技金融服务平台", "Technology finance platform", ("financing_needs", "loans")),
)
RESOURCES: tuple[str, ...] = tuple(r for p in PLATFORMS for r in p.resources)

PLATFORM_RECORDS = SourceFamily(
    name="platform_records",
    title="Platform API extracts: every version of every record, by platform and resource",
    # columns and keys of its own (ttw.extract.platform.RAW_DDL): records are JSON
    label_zh="平台数据",
    label_en="Platform exports",
    tables=(
        RawTable(
            "raw",
            "platform_records",
            ("platform", "resource", "record_id", "updated_at", "deleted"),
            allowed=(("platform", tuple(p.code for p in PLATFORMS)), ("resource", RESOURCES)),
        ),
    ),
    columns=(),
    check_model="base_platform__record_checks",
    reject_location="concat_ws('/', checks.platform, checks.resource, checks.record_id)",
    reject_rules=(
        "invalid_timestamp",
        "invalid_date",
        "date_out_of_range",
        "invalid_amount",
        "amount_out_of_range",
        "invalid_flag",
        "malformed_credit_code",
        "unknown_region_code",
        "unknown_tech_field",
    ),
    asset="raw.platform_records",
    dag_id="ingest_platform_exports",
)

FAMILIES: tuple[SourceFamily, ...] = (REGISTRY_CONTRACTS, CENTER_ROSTER, CENTER_REPORTS, PLATFORM_RECORDS)
BY_NAME: dict[str, SourceFamily] = {family.name: family for family in FAMILIES}
# the landing folders, by their folder name (the DAGs' and `ttw ingest`'s names for them)
LANDING: dict[str, Landing] = {f.landing.folder: f.landing for f in FAMILIES if f.landing}
FILE_TABLES: tuple[RawTable, ...] = tuple(t for f in FAMILIES if f.landing for t in f.tables)


def assets() -> tuple[str, ...]:
    """The raw assets, each once, in the order of the families."""
    return tuple(dict.fromkeys(f.asset for f in FAMILIES))


def families_of(dag_id: str) -> tuple[str, ...]:
    """The source families a DAG ingests."""
    return tuple(f.name for f in FAMILIES if f.dag_id == dag_id)


def in_period(folder: str, period: str | None) -> Callable[[Path], bool] | None:
    """Whether a delivery's name is of ``period`` (a month YYYYMM for contracts, a year YYYY
    for rosters and reports; a year also picks every month of it for contracts); None: any."""
    if period is None:
        return None
    period_of = LANDING[folder].period
    return lambda path: bool((m := period_of.search(path.name)) and m.group(1).startswith(period))


def landed_files(folder: Path, family_folder: str, period: str | None = None) -> list[Path]:
    """A family's delivery files in a folder (named by the family's landing folder, e.g.
    ``contracts``), only those of ``period`` when given (see :func:`in_period`)."""
    from ttw.ingest import deliveries

    files = deliveries([folder], *LANDING[family_folder].patterns)
    keep = in_period(family_folder, period)
    return files if keep is None else [f for f in files if keep(f)]


# --- what dbt reads of the registry: generated, checked in, tested to be current ---------


def _jinja(value) -> str:
    """A Jinja literal of ``value`` (JSON's lists, dicts and double-quoted strings are Jinja's too)."""
    return json.dumps(value, ensure_ascii=False, indent=4).replace("\n", "\n    ")


def render_dbt_macros() -> str:
    """The macro file ``dbt_project/macros/sources.sql``: what the check models and
    ``ops.rejects`` take from the registry."""
    columns = {f.name: [c.name for c in f.columns] for f in FAMILIES if f.columns}
    required = {f.name: list(f.required_values) for f in FAMILIES if f.columns}
    checks = [{"model": f.check_model, "family": f.name, "location": f.reject_location} for f in FAMILIES]
    labels = {f.name: {"zh": f.label_zh, "en": f.label_en} for f in FAMILIES}
    return f"""{{#- Generated from plugins/ttw/sources.py by `python -m ttw.sources`: do not edit.
    tests/unit/test_sources.py fails while this file differs from what the registry gives. -#}}

{{% macro source_columns(family) -%}}
    {{#- The source columns of a family's raw table, in export order (load metadata aside). -#}}
    {{{{ return({_jinja(columns)}[family]) }}}}
{{%- endmacro %}}

{{% macro required_values(family) -%}}
    {{#- The columns whose value may never be empty: a row with one empty is rejected. -#}}
    {{{{ return({_jinja(required)}[family]) }}}}
{{%- endmacro %}}

{{% macro source_family_labels() -%}}
    {{#- Family -> its names for BI, in Chinese and English. -#}}
    {{{{ return({_jinja(labels)}) }}}}
{{%- endmacro %}}

{{% macro source_checks() -%}}
    {{#- Every family's check model, with the SQL that says where in the delivery a row was. -#}}
    {{{{ return({_jinja(checks)}) }}}}
{{%- endmacro %}}
"""


def render_platforms_seed() -> str:
    """The seed ``dbt_project/seeds/platforms.csv`` (dim_platform): one row per platform."""
    rows = ["platform,platform_name,platform_name_en,resources,sort_order"]
    rows += [f"{p.code},{p.name},{p.name_en},{' '.join(p.resources)},{n}" for n, p in enumerate(PLATFORMS, 1)]
    return "\n".join(rows) + "\n"


GENERATED: dict[Path, Callable[[], str]] = {DBT_MACROS: render_dbt_macros, PLATFORMS_SEED: render_platforms_seed}


def write_generated() -> list[Path]:
    """Write every file generated from the registry; returns those that changed."""
    changed = []
    for path, render in GENERATED.items():
        text = render()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for written in write_generated():
        print(f"wrote {written.relative_to(PROJECT_ROOT)}", file=sys.stderr)
