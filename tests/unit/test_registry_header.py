from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ttw.errors import TTWError
from ttw.extract import registry

CHINESE_HEADER = list(registry.LABELS)


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str, bom: bool = False) -> Path:
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    data = text.encode(encoding)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    return path


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [("utf-8", False, ("UTF8", 0)), ("utf-8", True, ("UTF8", 3)), ("gb18030", False, ("GB18030", 0))],
)
def test_layout_detects_encoding_and_maps_chinese_labels(tmp_path, encoding, bom, expected):
    row = ["2024370202000001", "海洋传感器研发", *[""] * (len(CHINESE_HEADER) - 2)]
    path = write(tmp_path / "contracts_202401.csv", CHINESE_HEADER, [row], encoding, bom)
    layout = registry.read_csv_layout(path)
    assert (layout.encoding, layout.bom_bytes) == expected
    assert layout.columns == registry.COLUMNS


def test_canonical_english_headers_map_in_any_order(tmp_path):
    header = list(reversed(registry.COLUMNS))
    layout = registry.read_csv_layout(write(tmp_path / "c.csv", header, [], "utf-8"))
    assert layout.columns == tuple(header)


def test_full_width_parentheses_in_labels_are_accepted(tmp_path):
    header = [label.replace("(", "（").replace(")", "）") for label in CHINESE_HEADER]
    layout = registry.read_csv_layout(write(tmp_path / "c.csv", header, [], "gb18030"))
    assert "contract_amount" in layout.columns


def test_missing_required_column_names_the_column_and_file(tmp_path):
    header = [label for label in CHINESE_HEADER if label != "合同成交额(元)"]
    path = write(tmp_path / "contracts_202402.csv", header, [], "utf-8")
    with pytest.raises(TTWError) as excinfo:
        registry.read_csv_layout(path)
    message = str(excinfo.value)
    assert "contracts_202402.csv" in message
    assert "'contract_amount' (合同成交额(元)) is missing" in message


def test_unknown_header_cell_is_named_with_its_position(tmp_path):
    path = write(tmp_path / "c.csv", [*registry.COLUMNS[:3], "备注"], [], "utf-8")
    with pytest.raises(TTWError, match="header column 4 '备注' is not a contract registry column"):
        registry.read_csv_layout(path)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(TTWError, match="file is empty"):
        registry.read_csv_layout(path)
