"""Quality gates: dbt's tests of the build and Great Expectations suites, one owner per check.

dbt owns the invariants of the models (keys, required values, relationships, accepted
values, reconciliations between models); GX owns the landing checks on ``raw``/``ops`` and
the distribution checks (shares, ranges, volumes), plus the publish guards that look
beyond one model (no PII column, no table built without its sources). docs/checks.md
says which check lives where.

``expectations/suites/*.json`` are GX Core 1.x expectation suites as reviewable files.
A suite's ``meta`` says where it looks: ``boundary`` is ``landing`` (what arrived, in
``raw``/``ops``) or ``publish`` (what BI is about to read, in ``marts_build``), and
``table`` names the table or ``query`` gives SQL (``{build}`` stands for the schema
being audited; ``{received}`` and ``{landed}`` for a row per source family of the registry:
:func:`family_rows`).
Each expectation's GX ``severity`` is ``critical`` (the default: blocks publishing),
``warning`` or ``info`` (reported only). A landing suite on a raw table the source registry
declares (``ttw.sources``) gets one ``expect_column_to_exist`` per
declared column and load metadata column from the declaration (:func:`declared_columns`)
and a declared raw table no suite file names gets a suite of those; a raw table whose
columns' values the registry lists gets the suite ``landing_<table>_values``
(:func:`declared_values`, on the rows of live batches).

:func:`audit` runs every suite against the warehouse, adds the dbt results of the build
``marts_build`` holds (``ops.dbt_results``, written by dbt itself under the build's id),
stores one row per expectation in ``ops.quality_results`` and writes Data Docs to
``$TTW_HOME/out/data_docs``. :func:`validate_dataframe` runs a suite on a
DataFrame, for checks at extract time.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ttw.errors import Refusal, TTWError
from ttw.load import ensure_ops
from ttw.settings import Settings, disable_telemetry
from ttw.warehouse import BUILD_SCHEMA, Target, connect

# GX's FailureSeverity values (the expectation's own ``severity`` field); only critical blocks
SEVERITIES = ("critical", "warning", "info")
PASSED = ("pass", "success", "warn")  # dbt node statuses that do not block publishing


@dataclass(frozen=True)
class Check:
    boundary: str
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str | None
    details: dict = field(default_factory=dict)


@dataclass
class Audit:
    run_id: str
    run_at: dt.datetime
    dbt_build_id: str | None
    checks: list[Check]
    docs_index: Path | None

    @property
    def failed_critical(self) -> list[Check]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def ok(self) -> bool:
        return not self.failed_critical


def suites_dir(settings: Settings) -> Path:
    return settings.project_dir / "expectations" / "suites"


def declared_columns(table: str) -> list[dict]:
    """``expect_column_to_exist`` (critical) for each column the source registry declares for
    the raw ``table`` and each load metadata column; none for a table it does not declare."""
    from ttw.sources import FAMILIES, RAW_METADATA

    declared = {t.qualified: (*t.columns, *RAW_METADATA) for f in FAMILIES for t in f.tables}
    return [
        {"type": "expect_column_to_exist", "kwargs": {"column": column}, "severity": "critical"}
        for column in declared.get(table, ())
    ]


def declared_values(table: str) -> list[dict]:
    """``expect_column_values_to_be_in_set`` (critical) for each column of the raw ``table``
    whose values the source registry lists (the platforms and resources of platform records)."""
    from ttw.sources import FAMILIES

    allowed = {t.qualified: t.allowed for f in FAMILIES for t in f.tables}
    return [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": c, "value_set": list(v)},
            "severity": "critical",
        }
        for c, v in allowed.get(table, ())
    ]


# what a suite's query may name besides {build}: a row per source family of the registry, on
# the raw table its check model checks: {received} its rows, {landed} whether it has any
FAMILY_ROWS = {
    "received": "'{family}' as source_family, count(*) as raw_count from {table}",
    "landed": "'{family}' as family, exists (select 1 from {table}) as has_rows",
}


def family_rows(name: str) -> str:
    """The SQL a suite's query names ``{received}`` or ``{landed}`` (:data:`FAMILY_ROWS`)."""
    from ttw.sources import FAMILIES

    return " union all ".join(
        "select " + FAMILY_ROWS[name].format(family=f.name, table=f.checked.qualified) for f in FAMILIES
    )


def load_suites(folder: Path, boundary: str | None = None) -> list[dict]:
    """The suite files in ``folder`` (optionally of one boundary), checked for the keys we use;
    a landing suite on a declared raw table starts with its :func:`declared_columns`, and a
    declared raw table no file names gets a landing suite of those alone (``landing_<table>``)."""
    from ttw.sources import FAMILIES

    suites = []
    for path in sorted(folder.glob("*.json")):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TTWError(f"{path}: not valid JSON ({exc})") from None
        meta = suite.get("meta", {})
        if meta.get("boundary") not in ("landing", "publish") or not (meta.get("table") or meta.get("query")):
            raise TTWError(f"{path}: meta needs boundary (landing or publish) and a table or a query")
        for expectation in suite.get("expectations", []):
            severity = expectation.get("severity", "critical")
            if severity not in SEVERITIES:
                raise TTWError(
                    f"{path}: {expectation.get('type')}: severity {severity!r} is not {', '.join(SEVERITIES)}"
                )
            if "severity" in expectation.get("meta", {}):
                raise TTWError(f"{path}: {expectation.get('type')}: severity belongs in the expectation, not its meta")
        if meta["boundary"] == "landing" and meta.get("table"):
            suite["expectations"] = declared_columns(meta["table"]) + suite.get("expectations", [])
        if boundary is None or meta["boundary"] == boundary:
            suites.append(suite)
    if boundary in (None, "landing"):
        named = {suite["meta"].get("table") for suite in suites if suite["meta"]["boundary"] == "landing"}
        for table in (t for f in FAMILIES for t in f.tables if t.qualified not in named):
            suites.append(
                {
                    "name": f"landing_{table.name}",
                    "meta": {
                        "boundary": "landing",
                        "table": table.qualified,
                        "description": f"{table.qualified} has the columns the source registry declares.",
                    },
                    "expectations": declared_columns(table.qualified),
                }
            )
        for table in (t for f in FAMILIES for t in f.tables if t.allowed):
            suites.append(_allowed_values_suite(table))
    return suites


def _allowed_values_suite(table) -> dict:
    """``landing_<table>_values``: the registry's allowed values of ``table``'s columns, on
    the rows of live batches (a retracted batch's rows stay in raw, and are no one's concern)."""
    columns = ", ".join(column for column, _ in table.allowed)
    return {
        "name": f"landing_{table.name}_values",
        "meta": {
            "boundary": "landing",
            "query": f"select {columns} from {table.qualified} as landed where not exists"
            " (select from ops.load_batches as batches"
            " where batches.batch_id = landed._batch_id and batches.retracted_at is not null)",
            "description": f"The rows of {table.qualified} that live batches hold name only values"
            f" the source registry allows ({columns}).",
        },
        "expectations": declared_values(table.qualified),
    }


def _context(docs_dir: Path | None):
    disable_telemetry()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    if docs_dir is not None:
        context.add_data_docs_site(
            "ttw",
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def _observed(result) -> str | None:
    data = result.result or {}
    for key in ("observed_value", "unexpected_count"):
        if key in data and data[key] is not None:
            value = data[key]
            return json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return None


def _checks(boundary: str, suite_name: str, validation) -> list[Check]:
    checks = []
    for result in validation.results:
        config = result.expectation_config
        kwargs = config.kwargs or {}
        column = kwargs.get("column") or (", ".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
        error = (result.exception_info or {}).get("exception_message") if result.exception_info else None
        checks.append(
            Check(
                boundary=boundary,
                suite=suite_name,
                expectation=config.type,
                column=column,
                severity=config.severity.value,
                success=bool(result.success),
                observed=_observed(result) if not error else f"error: {error}",
                details={k: v for k, v in (result.result or {}).items() if k != "partial_unexpected_index_list"},
            )
        )
    return checks


def _suite(gx, suite_file: dict):
    """The GX suite of a file; an error (not a silently shorter suite) for an expectation GX rejects."""
    suite = gx.ExpectationSuite(name=suite_file["name"], expectations=suite_file["expectations"])
    known = {e.expectation_type for e in suite.expectations}
    unknown = sorted({e["type"] for e in suite_file["expectations"]} - known)
    if unknown or len(suite.expectations) != len(suite_file["expectations"]):
        raise TTWError(f"suite {suite_file['name']}: GX does not accept {', '.join(unknown) or 'some expectations'}")
    return suite


def run_suites(target: Target, suites: list[dict], *, schema: str = BUILD_SCHEMA, docs_dir: Path | None = None):
    """Validate each suite against the warehouse; (checks, Data Docs index or None)."""
    import great_expectations as gx

    context = _context(docs_dir)
    source = context.data_sources.add_postgres(
        "warehouse", connection_string=target.url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    placeholders = {"build": schema, **{name: family_rows(name) for name in FAMILY_ROWS}}
    definitions, unreachable = [], []
    for suite_file in suites:
        meta = suite_file["meta"]
        name = suite_file["name"]
        try:
            if meta.get("query"):
                # GX takes a query that starts with SELECT; a suite may start with a CTE
                query = f"select * from ({meta['query'].format(**placeholders)}) as audited"
                asset = source.add_query_asset(name, query=query)
            else:
                table_schema, _, table = meta["table"].rpartition(".")
                asset = source.add_table_asset(name, table_name=table, schema_name=table_schema or schema)
        except (gx.exceptions.GreatExpectationsError, ConnectionError) as exc:  # a missing table fails loudly
            unreachable.append(
                Check(meta["boundary"], name, "table_is_readable", None, "critical", False, f"error: {exc}")
            )
            continue
        suite = context.suites.add(_suite(gx, suite_file))
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=asset.add_batch_definition_whole_table("all"), suite=suite)
            )
        )
    if not definitions:
        return unreachable, None
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name="audit", validation_definitions=definitions, result_format="SUMMARY")
    )
    outcome = checkpoint.run()
    if docs_dir is not None:
        _build_docs(context, outcome)
    boundary_of = {s["name"]: s["meta"]["boundary"] for s in suites}
    checks = list(unreachable)
    for validation in outcome.run_results.values():
        name = validation.suite_name
        checks += _checks(boundary_of[name], name, validation)
    index = docs_dir / "index.html" if docs_dir is not None and (docs_dir / "index.html").exists() else None
    return checks, index


def _build_docs(context, outcome) -> None:
    """Data Docs for every validation of the run and its suite, in one build.

    GX's ``UpdateDataDocsAction`` builds the site once per validation (a fresh Jinja
    environment compiling every template each time, and the index again): most of the
    audit's fixed cost. One build of the same pages and one index is the same site.
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    resources = list(outcome.run_results)
    resources += [ExpectationSuiteIdentifier(name=v.suite_name) for v in outcome.run_results.values()]
    context.build_data_docs(site_names=["ttw"], resource_identifiers=resources)


def validate_dataframe(frame, suite: dict) -> list[Check]:
    """Run one suite on a pandas DataFrame (extract-time checks, before anything loads)."""
    import great_expectations as gx

    context = _context(None)
    batch = (
        context.data_sources.add_pandas("extract")
        .add_dataframe_asset(suite["name"])
        .add_batch_definition_whole_dataframe("frame")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    validation = batch.validate(_suite(gx, suite))
    return _checks(suite["meta"]["boundary"], suite["name"], validation)


def newest_build(target: Target) -> str | None:
    """The id of the build ``marts_build`` holds (``ops.marts_build_state``, written as each
    build starts); before that table existed, the newest in ``ops.dbt_results``. None before any."""
    from ttw.build import build_state

    state = build_state(target)
    if state is not None:
        return state.build_id
    with connect(target) as conn:
        if conn.execute("select to_regclass('ops.dbt_results')").fetchone()[0] is None:
            return None
        row = conn.execute(
            "select build_id from ops.dbt_results group by build_id order by max(recorded_at) desc limit 1"
        ).fetchone()
    return row[0] if row else None


def require_newest_build(target: Target, build_id: str | None) -> str:
    """The id of the build ``marts_build`` holds, which must have finished and, when
    ``build_id`` is given, be that build (a pinned build: the DAG audits and publishes the
    build its own run made, never one that took ``marts_build`` over meanwhile, even one
    stopped before it recorded a result)."""
    from ttw.build import build_state

    newest = newest_build(target)
    if newest is None:
        raise Refusal("no dbt build recorded in ops.dbt_results: run `ttw build` before the audit")
    if build_id is not None and newest != build_id:
        raise Refusal(
            f"{BUILD_SCHEMA} now holds build {newest}, not build {build_id} that this run made:"
            " it is not audited or published here (the newer build's own run does that)"
        )
    state = build_state(target)
    if state is not None and not state.finished:
        raise Refusal(
            f"build {newest} did not finish (it was stopped midway): {BUILD_SCHEMA} may hold parts of it; run a build"
        )
    return newest


def dbt_checks(target: Target, build_id: str | None = None) -> tuple[str, list[Check]]:
    """The newest dbt build's results as checks: (its build id, one check per node).

    A node run twice in one build (an Airflow retry) counts with its last result.
    ``build_id``: the build that must be the newest (see :func:`require_newest_build`).
    """
    build_id = require_newest_build(target, build_id)
    checks = [
        Check(
            boundary="publish",
            suite="dbt",
            expectation=unique_id,
            column=None,
            severity="warning" if status == "warn" else "critical",
            success=status in PASSED,
            observed=str(failures) if failures is not None else status,
        )
        for unique_id, status, failures in _node_results(target, build_id)
    ]
    return build_id, checks


def _node_results(target: Target, build_id: str) -> list[tuple[str, str, int | None]]:
    """(unique_id, status, failures) of each node of a build, its last result when it ran twice."""
    with connect(target) as conn:
        return conn.execute(
            "select distinct on (unique_id) unique_id, status, failures from ops.dbt_results"
            " where build_id = %s and resource_type in ('test', 'unit_test', 'model', 'seed')"
            " order by unique_id, recorded_at desc",
            (build_id,),
        ).fetchall()


def build_outcome(target: Target, build_id: str, expected: set[str] | None = None) -> dict:
    """How many nodes a build ran, which did not pass and which of ``expected`` it never ran
    (the DAG's completeness check)."""
    results = _node_results(target, build_id)
    failed = [unique_id for unique_id, status, _ in results if status not in PASSED]
    missing = sorted((expected or set()) - {unique_id for unique_id, _, _ in results})
    return {"build_id": build_id, "nodes": len(results), "failed": failed, "missing": missing}


def record(target: Target, audit: Audit) -> None:
    with connect(target) as conn:
        ensure_ops(conn)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.quality_results (run_id, run_at, dbt_build_id, boundary, suite, expectation,"
                " column_name, severity, success, observed_value, details)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        audit.run_id,
                        audit.run_at,
                        audit.dbt_build_id,
                        c.boundary,
                        c.suite,
                        c.expectation,
                        c.column,
                        c.severity,
                        c.success,
                        c.observed,
                        json.dumps(c.details, ensure_ascii=False, default=str),
                    )
                    for c in audit.checks
                ],
            )
        conn.commit()


def audit(
    settings: Settings,
    target: Target,
    *,
    wait: bool = True,
    lock_timeout: float | None = None,
    build_id: str | None = None,
) -> Audit:
    """dbt's results plus every GX suite; recorded, with Data Docs. Never raises on a failed check.

    Holds the ``marts_build`` lock (no build or publish runs meanwhile): waits for it
    ``lock_timeout`` seconds at most (default: the setting), or not at all without ``wait``.
    """
    from ttw.locks import MARTS_BUILD, stage_lock

    timeout = settings.lock_timeout_seconds if lock_timeout is None else lock_timeout
    with stage_lock(target, (MARTS_BUILD,), "audit", timeout=timeout, wait=wait):
        return _audit(settings, target, build_id)


def _audit(settings: Settings, target: Target, pinned: str | None = None) -> Audit:
    build_id, checks = dbt_checks(target, pinned)
    docs_dir = settings.out_dir / "data_docs"
    gx_checks, index = run_suites(target, load_suites(suites_dir(settings)), docs_dir=docs_dir)
    result = Audit(
        run_id=uuid.uuid4().hex,
        run_at=dt.datetime.now(dt.UTC),
        dbt_build_id=build_id,
        checks=checks + gx_checks,
        docs_index=index,
    )
    record(target, result)
    return result


def latest_audit(target: Target) -> tuple[str | None, list[tuple[str, str, str | None]]] | None:
    """(dbt build id, failed critical checks as (suite, expectation, column)) of the newest audit."""
    with connect(target) as conn:
        if conn.execute("select to_regclass('ops.quality_results')").fetchone()[0] is None:
            return None
        row = conn.execute(
            "select run_id, dbt_build_id from ops.quality_results order by run_at desc limit 1"
        ).fetchone()
        if row is None:
            return None
        failed = conn.execute(
            "select suite, expectation, column_name from ops.quality_results"
            " where run_id = %s and severity = 'critical' and not success order by suite, expectation",
            (row[0],),
        ).fetchall()
    return row[1], failed
