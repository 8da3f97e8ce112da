"""`ttw bench load` on a small file: every method it times loads every row (the benchmark
refuses a method that does not), so its ratios compare like with like."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ttw.bench.load import make_contracts_csv, run, run_registry
from ttw.extract.registry import detect_encoding


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
    """The data records of a CSV export, read in its encoding (UTF-8 or GB18030)."""
    data = path.read_bytes()
    encoding, bom = detect_encoding(data[: 1 << 16]) or ("UTF8", 0)
    text = data[bom:].decode("gb18030" if encoding == "GB18030" else "utf-8", errors="replace")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1
