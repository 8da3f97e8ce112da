"""`ttw bench load` on a small file: every method it times loads every row (the benchmark
refuses a method that does not), so its ratios compare like with like."""

from __future__ import annotations

from ttw.bench.load import make_contracts_csv, run


def test_every_load_method_of_the_benchmark_loads_every_row(target, tmp_path):
    path = make_contracts_csv(tmp_path / "contracts_300.csv", 300)
    figures = run(target, path, 1, ("ttw", "psql \\copy", "ttw xlsx", "openpyxl xlsx"))
    assert figures["file"]["rows"] == 300
    assert set(figures["ratios"]) >= {"ttw_rate_vs_psql_copy", "xlsx_calamine_rate_vs_openpyxl", "xlsx_rate_vs_csv"}
