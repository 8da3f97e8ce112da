"""Values: anything a downstream model or test could refuse is rejected in staging with its
rule, so one row never stops a build or a publish; a re-delivered report replaces only its
own center and year, and one that drops indicators is flagged while the earlier version
stays queryable."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

from generated import PLATFORM_TOKEN
from ledger import SAMPLE, assert_ledger_balances
from openpyxl import load_workbook
from test_files import write_csv

from ttw.build import build
from ttw.evaluation.data import load_year
from ttw.evaluation.tables import write_xlsx
from ttw.ingest import ingest_centers, ingest_contracts, ingest_platform, ingest_reports
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect

HEADER, *ROWS = list(csv.reader(SAMPLE.open(encoding="utf-8", newline="")))
COLUMN = {name: index for index, name in enumerate(HEADER)}


def staging_rejects(target, family: str) -> set[tuple]:
    """(row, rule) of every row staging rejected in a family."""
    with connect(target) as conn:
        rows = conn.execute(
            "select source_row_number, rule_name from ops.rejects"
            " where source_family = %s and rejected_at_stage = 'staging'",
            (family,),
        ).fetchall()
    return set(rows)


def build_audit_publish(settings, target) -> None:
    assert "Completed successfully" in build(settings, target)  # staged_or_rejected among its tests
    audited = audit(settings, target)
    assert audited.ok, audited.failed_critical
    publish(settings, target)


def edit(row: list[str], **values: str) -> list[str]:
    edited = list(row)
    for column, value in values.items():
        edited[COLUMN[column]] = value
    return edited


# row number in the file -> (the values it is delivered with, the rules staging names); rows 3
# and 12 are left alone: the sample corrects them in rows 61 and 62
BAD_CONTRACTS = {
    1: ({"contract_amount": "1234,56", "tech_transaction_amount": "100"}, {"invalid_amount"}),
    2: ({"contract_amount": "1,23,456", "tech_transaction_amount": "100"}, {"invalid_amount"}),
    9: ({"tech_transaction_amount": "12,34"}, {"invalid_amount"}),
    4: ({"signed_on": "1899-12-30"}, {"date_out_of_range"}),
    5: ({"signed_on": "2999-01-01", "registered_on": "2999-01-02"}, {"date_out_of_range", "future_date"}),
    6: (
        {"contract_amount": "9999999999999999.99", "tech_transaction_amount": "9999999999999999.99"},
        {"amount_out_of_range"},
    ),
    7: ({"contract_amount": "10,000,000,000.01", "tech_transaction_amount": "1"}, {"amount_out_of_range"}),
}
GROUPED = 8  # a row with correct thousands separators: it loads
TINY = 10  # 2023-03, seller in 370212, 技术服务, 生物、医药和医疗器械


def test_out_of_range_dates_and_amounts_are_rejected_in_staging_and_never_stop_a_build_or_publish(
    clean_target, settings, small_dataset, platform_server, tmp_path
):
    landing = tmp_path / "landing"
    landing.mkdir()
    rows = [list(r) for r in ROWS]
    for number, (values, _) in BAD_CONTRACTS.items():
        rows[number - 1] = edit(rows[number - 1], **values)
    rows[GROUPED - 1] = edit(rows[GROUPED - 1], contract_amount="1,234,567.89", tech_transaction_amount="1,234.5")
    # two valid contracts a year apart in one turnover cell, 0.01 yuan then 90亿: a change of
    # 9 * 10^13 % that numeric(12, 2) cannot hold
    rows[TINY - 1] = edit(rows[TINY - 1], contract_amount="0.01", tech_transaction_amount="0.01")
    large = edit(
        rows[TINY - 1],
        registration_no="2024370212000999",
        signed_on="2024-03-01",
        registered_on="2024-03-07",
        contract_amount="9,000,000,000",
        tech_transaction_amount="1",
    )
    rows.append(large)
    export = write_csv(landing / "contracts_sample.csv", rows, header=HEADER)  # spans 18 months: no month in its name

    # a roster with a center approved in 1899 and one whose build period ends in 2999
    [roster_header, *roster] = list(csv.reader((small_dataset / "centers" / "centers_2021.csv").open(encoding="utf-8")))
    roster[0][roster_header.index("approved_on")] = "1899-06-15"
    roster[1][roster_header.index("build_end")] = "2999-06-30"
    roster_file = write_csv(landing / "centers_2021.csv", roster, header=roster_header)

    # a report of a center that roster lists, with a negative value and one past the bound
    report = next(
        p
        for p in sorted((small_dataset / "reports" / "2021").glob("年度报告_*.xlsx"))
        if p.stem.split("_")[1] == roster[2][0]
    )
    book = load_workbook(report)
    out_of_range = {"研发人员数": -5, "营业收入": 99999999999}
    for row in book["运行数据"].iter_rows(min_row=3):
        if row[0].value in out_of_range:
            row[2].value = out_of_range[row[0].value]
    book.save(landing / report.name)

    # platform loans: an amount past numeric(18, 2), a day dim_date does not hold, a rate past numeric(6, 2)
    platform = tmp_path / "platform"
    shutil.copytree(small_dataset / "platform" / "finance", platform / "finance")
    loans_file = platform / "finance" / "loans.jsonl"
    loans = [json.loads(line) for line in loans_file.read_text(encoding="utf-8").splitlines()]
    loans[0]["amount"] = "9999999999999999.99"
    loans[1]["issued_on"] = "1899-12-31"
    loans[2]["annual_rate"] = 123456
    loans[3]["amount"] = -5000
    loans_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in loans), encoding="utf-8")
    bad_loans = {loans[0]["id"], loans[1]["id"], loans[2]["id"], loans[3]["id"]}

    assert ingest_contracts(clean_target, [export]).ok
    assert ingest_centers(clean_target, [roster_file]).ok
    assert ingest_reports(clean_target, [landing / report.name]).ok
    server = platform_server(data=platform)
    ingest_platform(clean_target, f"{server.base_url}/finance", PLATFORM_TOKEN, resources=["financing_needs", "loans"])

    build_audit_publish(settings, clean_target)

    rejected = staging_rejects(clean_target, "registry_contracts")
    for number, (_, rules) in BAD_CONTRACTS.items():
        assert {rule for row, rule in rejected if row == number} == rules, number
    with connect(clean_target) as conn:
        reasons = dict(
            conn.execute(
                "select source_row_number, reason from ops.rejects"
                " where source_family = 'registry_contracts'"
                " and rule_name in ('date_out_of_range', 'amount_out_of_range')"
                " and source_row_number in (4, 6) and reason not like %s",
                ("tech%",),
            ).fetchall()
        )
        published = dict(
            conn.execute("select registration_no, contract_amount from marts.fct_tech_contracts").fetchall()
        )
        roster_rejects = conn.execute(
            "select source_row_number, rule_name, reason from ops.rejects where source_family = 'center_roster'"
            " order by 1"
        ).fetchall()
        centers = {c for (c,) in conn.execute("select center_code from marts.dim_center").fetchall()}
        loan_rejects = conn.execute(
            "select split_part(source_location, '/', 3), rule_name from ops.rejects"
            " where source_family = 'platform_records' order by 1, 2"
        ).fetchall()
        report_rejects = conn.execute(
            "select rule_name, reason from ops.rejects where source_family = 'center_reports' order by reason"
        ).fetchall()
        yoy = conn.execute(
            "select month_start::text, contract_amount, contract_amount_yoy_pct"
            " from marts.rpt_contract_turnover_monthly"
            " where district_code = '370212' and contract_type = '技术服务' and tech_field = '生物、医药和医疗器械'"
            " and month_start = '2024-03-01'"
        ).fetchone()
        published_loans = {n for (n,) in conn.execute("select loan_id from marts.fct_loans").fetchall()}
    assert reasons == {
        4: "signed_on 1899-12-30 is outside 2000-01-01 to 2035-12-31, the calendar the warehouse reports on",
        6: "contract_amount 9999999999999999.99 is outside 0 to 10000000000 yuan",
    }
    assert published[rows[GROUPED - 1][0]] == Decimal("1234567.89")
    assert not {rows[n - 1][0] for n in BAD_CONTRACTS} & set(published)
    assert [(n, rule) for n, rule, _ in roster_rejects] == [(1, "date_out_of_range"), (2, "date_out_of_range")]
    assert roster[0][0] not in centers
    assert roster[1][0] not in centers
    assert roster[2][0] in centers
    assert sorted(loan_rejects) == sorted(
        [
            (loans[0]["id"], "amount_out_of_range"),
            (loans[1]["id"], "date_out_of_range"),
            (loans[2]["id"], "amount_out_of_range"),
            (loans[3]["id"], "amount_out_of_range"),
        ]
    )
    assert [rule for rule, _ in report_rejects] == ["amount_out_of_range", "amount_out_of_range"]
    assert {reason.split(": ", 1)[1] for _, reason in report_rejects} == {
        "研发人员数 -5 is outside 0 to 10000000000 in its unit",
        "营业收入 99999999999 is outside 0 to 10000000000 in its unit",
    }
    assert all(reason.startswith("运行数据!C") for _, reason in report_rejects)
    assert published[large[0]] == Decimal("9000000000.00")
    assert yoy == ("2024-03-01", Decimal("9000000000.00"), None)  # null, not a failed build
    assert published_loans
    assert not published_loans & bad_loans
    assert_ledger_balances(clean_target)


def redeliver_without(workbook: Path, folder: Path, indicators: set[str]) -> Path:
    """The same report delivered again, with the rows of ``indicators`` taken out."""
    book = load_workbook(workbook)
    sheet = book["运行数据"]
    for row in reversed(range(1, sheet.max_row + 1)):
        if sheet.cell(row, 1).value in indicators:
            sheet.delete_rows(row)
    folder.mkdir(parents=True, exist_ok=True)
    book.save(folder / workbook.name)
    return folder / workbook.name


def test_a_report_redelivered_without_indicators_is_flagged_and_its_earlier_version_stays_queryable(
    clean_target, settings, small_dataset, tmp_path
):
    year = 2023
    reports = sorted((small_dataset / "reports" / str(year)).glob("年度报告_*.xlsx"))
    ingest_contracts(clean_target, [small_dataset / "registry"])  # the audit wants contracts in marts
    assert ingest_centers(clean_target, [small_dataset / "centers"]).ok
    ingest_reports(clean_target, [small_dataset / "reports"])
    assert "Completed successfully" in build(settings, clean_target)
    with connect(clean_target) as conn:
        # a center with a complete report that year, and the values it reported first
        center, first_file = conn.execute(
            "select center_code, report_file from marts_build.fct_center_indicators"
            " where evaluation_year = %s and has_report group by 1, 2"
            " having count(reported_value) = count(*) order by 1 limit 1",
            (year,),
        ).fetchone()
        first = dict(
            conn.execute(
                "select indicator_name, reported_value from marts_build.fct_center_indicators"
                " where center_code = %s and evaluation_year = %s",
                (center, year),
            ).fetchall()
        )
    workbook = next(p for p in reports if p.name == Path(first_file).name)
    dropped = {"大型仪器数", "对外共享机时"}
    second = redeliver_without(workbook, tmp_path / "redelivered", dropped)
    book = load_workbook(second)
    for row in book["运行数据"].iter_rows(min_row=3):
        if row[0].value == "研发人员数":
            row[2].value = 12345  # a corrected figure
    book.save(second)
    ingest_reports(clean_target, [second])

    build_audit_publish(settings, clean_target)
    with connect(clean_target) as conn:
        newest = dict(
            conn.execute(
                "select indicator_name, reported_value from marts.fct_center_indicators"
                " where center_code = %s and evaluation_year = %s",
                (center, year),
            ).fetchall()
        )
        flags = conn.execute(
            "select distinct has_dropped_indicators, dropped_indicators, report_file from marts.fct_center_indicators"
            " where center_code = %s and evaluation_year = %s",
            (center, year),
        ).fetchall()
        performance = conn.execute(
            "select has_dropped_indicators, dropped_indicators from marts.rpt_center_performance"
            " where center_code = %s and evaluation_year = %s",
            (center, year),
        ).fetchone()
        others = conn.execute(
            "select count(*) from marts.rpt_center_performance where has_dropped_indicators"
        ).fetchone()[0]
        versions = conn.execute(
            "select version_number, is_current_version, source_file, indicator_count,"
            " dropped_indicator_count, dropped_indicators"
            " from marts.fct_center_report_versions where center_code = %s and report_year = %s order by 1",
            (center, year),
        ).fetchall()
        earlier = dict(
            conn.execute(
                "select indicator_name, reported_value from marts.fct_center_report_values"
                " where center_code = %s and report_year = %s and version_number = 1",
                (center, year),
            ).fetchall()
        )
        same_center_other_years = conn.execute(
            "select count(*) from marts.fct_center_report_versions where center_code = %s and report_year <> %s"
            " and version_number > 1",
            (center, year),
        ).fetchone()[0]
    assert newest["研发人员数"] == 12345
    assert {name for name, value in newest.items() if value is None} == dropped
    assert {k: v for k, v in newest.items() if k not in dropped | {"研发人员数"}} == {
        k: v for k, v in first.items() if k not in dropped | {"研发人员数"}
    }
    assert flags == [(True, "大型仪器数、对外共享机时", str(second))]
    assert performance == (True, "大型仪器数、对外共享机时")
    assert others == 1
    assert versions == [
        (1, False, first_file, 17, 0, None),
        (2, True, str(second), 15, 2, "大型仪器数、对外共享机时"),
    ]
    assert earlier == first  # the earlier version, every value, is still there
    assert same_center_other_years == 0  # the other years of the center keep their one report
    # the evaluators' workbook shows the flag in its 预警 sheet
    evaluator = write_xlsx(load_year(clean_target, year), tmp_path / "centers.xlsx", "zh")
    sheet = load_workbook(evaluator)["预警"]
    header = [cell.value for cell in sheet[1]]
    flagged = {row[0]: row[header.index("重报缺少的指标")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert flagged[center] == "大型仪器数、对外共享机时"
    assert_ledger_balances(clean_target)
