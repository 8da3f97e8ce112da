"""The catalog a BI tool reads by itself: logged in as bi_reader, every published table and
column of ``marts`` carries its description as a comment, every money column names its
unit, every table has a primary key on its grain, NOT NULL where the contract says so, and
the foreign keys to the dimensions are there to join by; a second publish keeps it all
without touching the DDL, and frozen rows that would break a key are refused."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from ttw.build import build
from ttw.errors import Refusal
from ttw.freeze import freeze, reopen
from ttw.publish import publish
from ttw.quality import audit
from ttw.roles import BI_READER, apply_roles
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

PASSWORD = "bi-catalog-secret-for-tests"
# a column whose name says money (or an indicator's value) and whose type is numeric must
# name its unit: config.meta.unit in its dbt properties, and the description says it
MONEY_NAME = re.compile(r"amount|turnover|income|revenue|spending|loan|value")
# a percentage is no money, whatever it is a percentage of
PERCENT_NAME = re.compile(r"_pct$")
# the dimensions every fact and report joins by foreign key (their keys are unique)
DIMENSION_KEYS = {
    "dim_region": "region_code",
    "dim_date": "date_day",
    "dim_contract_type": "contract_type",
    "dim_tech_field": "tech_field",
    "dim_platform": "platform",
}


def _bi_reader(target):
    return psycopg.connect(
        host=target.host, port=target.port, dbname=target.dbname, user=BI_READER, password=PASSWORD, autocommit=True
    )


def _manifest_models(settings) -> dict[str, dict]:
    """The marts models of the build's manifest: {table: node}."""
    manifest = json.loads((settings.home_dir / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    return {
        node["alias"] or node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
    }


def _meta(column: dict) -> dict:
    return {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}


def _catalog(conn) -> dict:
    """What bi_reader sees of marts: comments, NOT NULL, primary keys, foreign keys, types."""
    tables = {
        name: comment
        for name, comment in conn.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class as c"
            " where c.relnamespace = 'marts'::regnamespace and c.relkind = 'r'"
        )
    }
    columns = {
        (table, column): (comment, not_null, data_type)
        for table, column, comment, not_null, data_type in conn.execute(
            "select c.relname, a.attname, col_description(c.oid, a.attnum), a.attnotnull,"
            " format_type(a.atttypid, a.atttypmod)"
            " from pg_class as c join pg_attribute as a on a.attrelid = c.oid"
            " where c.relnamespace = 'marts'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped"
        )
    }
    keys = {}
    for oid, table, kind, columns_, referenced, referenced_columns, deferred in conn.execute(
        "select k.oid, c.relname, k.contype,"
        " array(select a.attname::text from unnest(k.conkey) with ordinality as u(n, i)"
        "   join pg_attribute as a on a.attrelid = k.conrelid and a.attnum = u.n order by u.i),"
        " r.relname,"
        " array(select a.attname::text from unnest(k.confkey) with ordinality as u(n, i)"
        "   join pg_attribute as a on a.attrelid = k.confrelid and a.attnum = u.n order by u.i),"
        " k.condeferrable and k.condeferred"
        " from pg_constraint as k join pg_class as c on c.oid = k.conrelid"
        " left join pg_class as r on r.oid = k.confrelid"
        " where c.relnamespace = 'marts'::regnamespace and k.contype in ('p', 'f')"
    ):
        keys[(table, kind, tuple(columns_), referenced, tuple(referenced_columns or ()))] = (oid, deferred)
    return {"tables": tables, "columns": columns, "keys": keys}


@pytest.fixture(scope="module")
def published(target, settings, small_dataset):
    """The small dataset built, audited and published, and bi_reader able to log in."""
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)
    apply_roles(target, {BI_READER: PASSWORD})
    with _bi_reader(target) as conn:
        catalog = _catalog(conn)
    return {"target": target, "catalog": catalog, "models": _manifest_models(settings)}


def test_every_published_table_and_column_has_its_description_as_a_comment(published):
    catalog, models = published["catalog"], published["models"]
    assert len(catalog["tables"]) >= 25
    assert len(catalog["columns"]) >= 400
    assert set(catalog["tables"]) == set(models)  # every published table is a documented model
    assert {t for t, comment in catalog["tables"].items() if not comment} == set()
    assert sorted(c for c, (comment, _, _) in catalog["columns"].items() if not comment) == []
    # the comment is the model's description, word for word
    for table, node in models.items():
        assert catalog["tables"][table].strip() == node["description"].strip(), table
        for name, column in node["columns"].items():
            assert catalog["columns"][(table, name)][0].strip() == column["description"].strip(), (table, name)
    assert "万元" in catalog["columns"][("fct_center_indicators", "reported_value")][0]


def test_every_money_column_names_its_unit(published):
    catalog, models = published["catalog"], published["models"]
    unmarked, marked = [], []
    for table, node in models.items():
        for name, column in node["columns"].items():
            comment, _, data_type = catalog["columns"][(table, name)]
            unit = _meta(column).get("unit")
            if unit is None:
                if MONEY_NAME.search(name) and not PERCENT_NAME.search(name) and data_type.startswith("numeric"):
                    unmarked.append((table, name))
                continue
            marked.append((table, name))
            assert data_type.startswith("numeric"), (table, name, data_type)
            assert unit in comment, (table, name, comment)
            unit_column = _meta(column).get("unit_column")
            if unit_column:  # the row's own unit column says which unit; money is in 万元 there
                assert (table, unit_column) in catalog["columns"], (table, unit_column)
                assert f"unit column: {unit}" in comment, (table, name, comment)
    assert unmarked == []
    marked_tables = {table for table, _ in marked}
    assert {"fct_center_indicators", "rpt_center_indicator_scores", "fct_center_report_values"} <= marked_tables
    # the registry's contract amounts are in 元, the indicators' money in 万元
    units = {(t, c): _meta(models[t]["columns"][c])["unit"] for t, c in marked}
    assert units[("fct_center_indicators", "reported_value")] == "万元"
    assert {u for (t, _), u in units.items() if t == "fct_tech_contracts"} == {"元"}


def test_every_published_table_has_its_grain_as_primary_key_and_not_null_as_contracted(published):
    catalog, models = published["catalog"], published["models"]
    primary = {table: columns for (table, kind, columns, _, _) in catalog["keys"] if kind == "p"}
    assert sorted(set(catalog["tables"]) - set(primary)) == []
    for table, node in models.items():
        assert node["config"]["contract"]["enforced"], table
        declared = [c["columns"] for c in node["constraints"] if c["type"] == "primary_key"] + [
            [name] for name, col in node["columns"].items() for c in col["constraints"] if c["type"] == "primary_key"
        ]
        assert [list(primary[table])] == declared, table
        for name, column in node["columns"].items():
            assert column["data_type"], (table, name)
            if any(c["type"] == "not_null" for c in column["constraints"]):
                assert catalog["columns"][(table, name)][1], (table, name)
    assert primary["fct_center_indicators"] == ("center_code", "evaluation_year", "indicator_code")
    assert primary["dim_region"] == ("region_code",)


def test_the_facts_and_reports_join_the_dimensions_by_deferrable_foreign_keys(published):
    catalog, models = published["catalog"], published["models"]
    foreign = {
        (table, columns, referenced, to_columns): deferred
        for (table, kind, columns, referenced, to_columns), (_, deferred) in catalog["keys"].items()
        if kind == "f"
    }
    declared = set()
    for table, node in models.items():
        for name, column in node["columns"].items():
            for c in column["constraints"]:
                if c["type"] == "foreign_key":
                    referenced = c["to"].rsplit(".", 1)[-1].strip('"')
                    declared.add((table, (name,), referenced, tuple(c["to_columns"])))
        for c in node["constraints"]:
            if c["type"] == "foreign_key":
                referenced = c["to"].rsplit(".", 1)[-1].strip('"')
                declared.add((table, tuple(c["columns"]), referenced, tuple(c["to_columns"])))
    assert set(foreign) == declared
    assert all(foreign.values())  # DEFERRABLE INITIALLY DEFERRED: table order in a publish does not matter
    assert {referenced for _, _, referenced, _ in foreign} <= set(DIMENSION_KEYS)
    for _, _, referenced, to_columns in foreign:
        assert to_columns == (DIMENSION_KEYS[referenced],)
    assert ("fct_center_indicators", ("district_code",), "dim_region", ("region_code",)) in foreign
    assert ("rpt_center_performance", ("district_code",), "dim_region", ("region_code",)) in foreign
    assert len(foreign) >= 6


def test_a_second_publish_keeps_comments_and_keys_without_changing_them(published, settings):
    target = published["target"]
    with connect(target) as conn:  # the delete+insert path: every table's columns are unchanged
        before = {
            r[0]: r[1]
            for r in conn.execute(
                "select relname, oid from pg_class where relnamespace = 'marts'::regnamespace and relkind = 'r'"
            )
        }
    publish(settings, target)
    with _bi_reader(target) as conn:
        again = _catalog(conn)
        after = {
            r[0]: r[1]
            for r in conn.execute(
                "select relname, oid from pg_class where relnamespace = 'marts'::regnamespace and relkind = 'r'"
            )
        }
    assert after == before  # same tables, rows replaced
    assert again == published["catalog"]  # same comments, and the very same constraints (oids)


def test_frozen_rows_that_would_break_a_foreign_key_are_refused_and_marts_stay(published, settings):
    target = published["target"]
    with connect(target) as conn:
        year = conn.execute("select max(evaluation_year) from marts.rpt_center_performance").fetchone()[0]
        rows = conn.execute("select count(*) from marts.rpt_center_performance").fetchone()[0]
    freeze(target, year, "catalog test", by="tests")
    try:
        publish(settings, target)  # the frozen year goes back and satisfies every key
        with connect(target) as conn:
            conn.execute(
                "update ops.evaluation_frozen_rows set row_data = jsonb_set(row_data, '{district_code}', '\"999999\"')"
                " where table_name = 'rpt_center_performance' and evaluation_year = %s",
                (year,),
            )
            conn.commit()
        with pytest.raises(Refusal, match=r"foreign key"):
            publish(settings, target)
        with connect(target) as conn:
            assert conn.execute("select count(*) from marts.rpt_center_performance").fetchone()[0] == rows
            assert (
                conn.execute(
                    "select count(*) from marts.rpt_center_performance where district_code = '999999'"
                ).fetchone()[0]
                == 0
            )
    finally:
        reopen(target, year, "catalog test", by="tests")
    publish(settings, target)
    with _bi_reader(target) as conn:
        assert _catalog(conn)["keys"].keys() == published["catalog"]["keys"].keys()
