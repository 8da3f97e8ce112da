from __future__ import annotations

from openpyxl import Workbook

from ttw.extract.reports import read_report


def test_sheets_are_read_by_label_wherever_the_cells_are(tmp_path):
    book = Workbook()
    info = book.active
    info.title = "基本信息"
    info.append([None, "技术创新中心年度报告"])
    info.merge_cells("B1:D1")
    info.append([])
    info.append([None, None, "中心编号", "C202400001"])  # labels two columns in
    info.append([None, None, "报告年度", 2024])
    data = book.create_sheet("运行数据")
    data.append(["运行数据"])
    data.append([])
    data.append([])
    data.append([None, "指标", "单位", "本年数值"])  # the table starts at B4
    data.append([None, "研发经费投入", "万元", "1,234.5"])
    data.append([])
    data.append([None, "研发人员数", "人", 60])
    book.create_sheet("重大成果").append(["成果名称", "成果类型", "完成时间", "简要说明"])
    book.create_sheet("问题与计划").append(["存在问题"])
    path = tmp_path / "年度报告_C202400001_2024.xlsx"
    book.save(path)

    report = read_report(path)
    assert report.fields == [("中心编号", "C202400001", "基本信息!D3"), ("报告年度", "2024", "基本信息!D4")]
    assert report.indicators == [
        ("研发经费投入", "万元", "1,234.5", "运行数据!D5"),
        ("研发人员数", "人", "60", "运行数据!D7"),
    ]
    assert report.problems == []
    assert report.plans == [("存在问题", "问题与计划!A1")]


def test_a_missing_sheet_is_a_problem_and_the_rest_is_read(tmp_path):
    book = Workbook()
    book.active.title = "基本信息"
    book.active.append(["中心编号", "C1"])
    path = tmp_path / "年度报告_C1_2024.xlsx"
    book.save(path)
    report = read_report(path)
    assert report.fields == [("中心编号", "C1", "基本信息!B1")]
    assert [(rule, sheet) for rule, _, sheet in report.problems] == [
        ("missing_sheet", "运行数据"),
        ("missing_sheet", "重大成果"),
        ("missing_sheet", "问题与计划"),
    ]


def test_many_workbooks_come_back_whole_and_in_order_with_a_broken_one_among_them(small_dataset, tmp_path):
    from ttw.ingest import deliveries, read_workbooks

    paths = deliveries([small_dataset / "reports"], "年度报告_*.xlsx")
    broken = tmp_path / "年度报告_C209900001_2024.xlsx"
    broken.write_bytes(b"not a zip")
    paths.insert(len(paths) // 2, broken)
    assert len(paths) >= 128  # as many as a daily run over the landing folder reads

    read = list(read_workbooks(paths))
    assert [item[0] for item in read] == paths
    path, content_hash, workbook, error = read[len(paths) // 2]
    assert (path, content_hash, workbook) == (broken, "", None)
    rule, reason = error
    assert rule == "unreadable_file"
    assert str(broken) in reason
    assert "not a readable xlsx workbook" in reason
    assert all(item[2] is not None and len(item[1]) == 64 for item in read if item[0] != broken)
