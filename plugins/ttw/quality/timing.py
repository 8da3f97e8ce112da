"""What each part of an audit costs: ``python -m ttw.quality.timing`` (docs/benchmarks.md,
"The audit's fixed cost").

Runs one real audit of the warehouse in ``$TTW_HOME`` (recorded in ``ops.quality_results``
like ``ttw audit``), with wall-clock timers around its parts and a count of the SQL
statements GX sends, then prints the seconds of each part.
"""

from __future__ import annotations

import functools
import time
from collections import Counter, defaultdict

_started = time.perf_counter()


def main() -> None:
    seconds: dict[str, float] = defaultdict(float)
    calls: Counter = Counter()

    def timed(owner, name: str, label: str) -> None:
        function = getattr(owner, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started
                calls[label] += 1

        setattr(owner, name, wrapper)

    import ttw.quality as quality
    from ttw.settings import disable_telemetry, get_settings
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    target = ensure_warehouse(settings)
    started = time.perf_counter()
    disable_telemetry()
    import great_expectations as gx
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seconds["import great_expectations"] = time.perf_counter() - started

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["ttw_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        seconds["  of which SQL in the database"] += time.perf_counter() - conn.info.pop("ttw_started")
        calls["  of which SQL in the database"] += 1

    timed(quality, "dbt_checks", "dbt results (dbt_checks)")
    timed(quality, "run_suites", "GX suites (run_suites)")
    timed(ValidationDefinition, "run", "validations")
    timed(AbstractDataContext, "build_data_docs", "Data Docs")
    timed(quality, "record", "record in ops.quality_results")
    timed(gx.Checkpoint, "run", "checkpoint run")

    started = time.perf_counter()
    result = quality.audit(settings, target)
    seconds["audit()"] = time.perf_counter() - started
    seconds["process"] = time.perf_counter() - _started
    order = (
        "import great_expectations",
        "dbt results (dbt_checks)",
        "GX suites (run_suites)",
        "checkpoint run",
        "validations",
        "  of which SQL in the database",
        "Data Docs",
        "record in ops.quality_results",
        "audit()",
        "process",
    )
    for label in order:
        times = f" ({calls[label]} calls)" if calls[label] > 1 else ""
        print(f"{label:32} {seconds[label]:7.2f} s{times}")
    print(f"{len(result.checks)} checks, {len(result.failed_critical)} critical failed; Data Docs: {result.docs_index}")


if __name__ == "__main__":
    main()
