"""`ttw bench load` on a small file: every method it times loads every row (the benchmark
refuses a method that does not), so its ratios compare like with like."""

from __future__ import annotations

from pathlib import Path

from ttw.extract.registry import detect_encoding
from ttw.load import _csv_records
from ttw_dev.bench.load import make_contracts_csv, run, run_registry


def test_every_load_method_of_the_benchmark_loads_every_row(target, tmp_path):
    path = make_contracts_csv(tmp_path / "contracts_300.csv", 300)
    figures = run(target, path, 1, ("ttw", "psql \\copy", "ttw xlsx", "openpyxl xlsx"))
    assert figures["file"]["rows"] == 300
    assert set(figures["ratios"]) >= {"ttw_rate_vs_psql_copy", "xlsx_calamine_rate_vs_openpyxl", "xlsx_rate_vs_csv"}


def test_the_whole_registry_benchmark_loads_every_csv_export_of_a_generated_dataset(target, small_dataset):
    csv_exports = sorted((small_dataset / "registry").glob("contracts_*.csv"))
    assert csv_exports  # the generated layout the benchmark reads
    figures = run_registry(target, small_dataset, runs=1)
    assert figures["files"] == len(csv_exports)
    # both methods loaded the same rows (the benchmark refuses otherwise): the data rows of the files
    assert figures["rows"] == sum(_records(path) for path in csv_exports)
    assert figures["ratio"] > 0


def _records(path: Path) -> int:
    """The data records of a CSV export, parsed whole in its encoding (UTF-8 or GB18030)."""
    with path.open("rb") as head:
        encoding, bom = detect_encoding(head.read(1 << 16)) or ("UTF8", 0)
    return _csv_records(path, encoding, bom)
