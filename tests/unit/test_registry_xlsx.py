from __future__ import annotations

import csv
import datetime as dt

import pytest
from openpyxl import Workbook

from ttw.errors import TTWError
from ttw.extract.registry import COLUMNS, LABELS, cell_text, read_xlsx_rows
from ttw.settings import PROJECT_ROOT
from ttw_dev.generate.registry import CONTRACT_TYPES, TECH_FIELDS


def workbook(path, rows):
    book = Workbook()
    sheet = book.active
    sheet.title = "合同登记"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_header_found_by_label_after_blank_rows_and_cells_read_as_text(tmp_path):
    header = list(LABELS)
    record = ["2024370202000001", "项目", "技术开发", "委托开发", dt.datetime(2024, 3, 26), "2024/3/28"] + [""] * 9
    record += [1234567, 1000000.5, "电子信息", "无", "已登记", "张工", 13800000000]
    path = workbook(tmp_path / "contracts_202403.xlsx", [[], header, record, [], record])
    columns, rows = read_xlsx_rows(path)
    assert columns == COLUMNS
    rows = list(rows)
    assert [number for number, _ in rows] == [1, 3]  # sheet row minus the header's row
    values = dict(zip(columns, rows[0][1], strict=True))
    assert values["signed_on"] == "2024-03-26"
    assert values["registered_on"] == "2024/3/28"
    assert values["contract_amount"] == "1234567"
    assert values["tech_transaction_amount"] == "1000000.5"
    assert values["contact_phone"] == "13800000000"


def test_a_value_outside_the_header_names_its_cell(tmp_path):
    path = workbook(tmp_path / "c.xlsx", [list(COLUMNS), ["x"] * len(COLUMNS) + ["stray"]])
    _, rows = read_xlsx_rows(path)
    with pytest.raises(TTWError, match=r"cell 合同登记!W2 holds a value outside the header's columns"):
        list(rows)


def test_a_file_that_is_not_a_workbook_is_a_clear_error(tmp_path):
    path = tmp_path / "contracts_202401.xlsx"
    path.write_text("not a zip")
    with pytest.raises(TTWError, match="not a readable xlsx workbook"):
        read_xlsx_rows(path)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (3.0, "3"), (2.5, "2.5"), (True, "true"), (dt.date(2024, 1, 2), "2024-01-02"), ("x", "x")],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def seed(name: str) -> list[str]:
    with (PROJECT_ROOT / "dbt_project" / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return [row[0] for row in list(csv.reader(handle))[1:]]


def test_the_generator_uses_the_warehouse_reference_lists():
    assert list(TECH_FIELDS) == seed("tech_fields")
    assert list(CONTRACT_TYPES) == seed("contract_types")
