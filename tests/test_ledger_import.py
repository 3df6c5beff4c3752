"""Ledger import: budgets and month-end figures from CSV or XLSX, checked whole and written all or nothing."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from tracker import db
from tracker.models import AuditEntry, Budget, MonthEnd, Project
from tracker.services import audit
from tracker.services.ledger_import import ImportRefused, RowProblem, import_ledger, read_table

OFFICER = audit.Who("budget-officer-lin", remote_addr="10.0.0.7")
YILAN = "法務部矯正署宜蘭監獄擴建計畫"
MONITORING = "矯正機關智慧監控系統建置計畫"
FORENSIC = "提昇法醫鑑識量能計畫"
DENGUE = "法醫相驗及解剖案件登革熱研究"  # one of FORENSIC's sub-plans

BUDGET_HEADER = ["計畫名稱", "年度", "經資門", "原預算數", "追加預算數", "以前年度保留數"]
MONTH_HEADER = ["計畫名稱", "年度", "月份", "經資門", "累計分配數", "累計實支數", "應付未付數", "累計賸餘數"]


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    """A CSV file as a spreadsheet program saves it."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    """An XLSX file with the rows on its first sheet (None leaves a blank row)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row or [], start=1):
            sheet.cell(row=number, column=column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    workbook.close()
    return out.getvalue()


def as_written_by_other_tools(xlsx: bytes) -> bytes:
    """The same workbook with whole numbers stored as 106.0, as some exporters write them (Excel reads them as floats)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = re.sub(rb"<v>([0-9]+)</v>", rb"<v>\1.0</v>", content)
            target.writestr(item, content)
    return out.getvalue()


def project_id(session, name: str) -> int:
    return session.scalars(sa.select(Project.id).where(Project.name == name)).one()


def code_of(session, name: str) -> str:
    """The plan code users see (計畫編號), which import rows name."""
    return session.scalars(sa.select(Project.code).where(Project.name == name)).one()


def budgets(session) -> list[tuple]:
    return session.execute(sa.select(Budget.project_id, Budget.year_roc, Budget.kind, Budget.original,
                                      Budget.supplementary, Budget.carried_over, Budget.is_synthetic)
                           .order_by(Budget.id)).all()


def month_ends(session) -> list[tuple]:
    return session.execute(sa.select(MonthEnd.project_id, MonthEnd.year_roc, MonthEnd.month, MonthEnd.kind,
                                      MonthEnd.allocated, MonthEnd.paid, MonthEnd.payables, MonthEnd.savings,
                                      MonthEnd.is_synthetic).order_by(MonthEnd.id)).all()


def snapshot(session) -> dict:
    """Everything an import may write."""
    session.expire_all()
    return {"budgets": budgets(session), "month_ends": month_ends(session),
            "audit": session.execute(sa.select(AuditEntry.id, AuditEntry.action).order_by(AuditEntry.id)).all()}


def entries(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def run(session, filename: str, data: bytes, **kwargs):
    """Import and commit, as the page will."""
    result = import_ledger(session, filename, data, OFFICER, **kwargs)
    session.commit()
    return result


def refused(session, filename: str, data: bytes) -> list[RowProblem]:
    """Import a file that must be refused; return its problems (the session is rolled back as a page would)."""
    with pytest.raises(ImportRefused) as caught:
        import_ledger(session, filename, data, OFFICER)
    session.rollback()
    return caught.value.problems


@pytest.fixture
def budgeted(seeded, session):
    """The plan with 106 budgets for YILAN (capital 1,000 + 200 + 300 = 1,500) and MONITORING (current 800)."""
    run(session, "budgets-106.csv", csv_bytes([
        BUDGET_HEADER,
        [YILAN, "106", "資本門", "1,000", "200", "300"],
        [MONITORING, "106", "經常門", "800", "", ""],
    ]))
    return session


# 1. Chinese headers, budgets then month-end figures -------------------------------------------------------


def test_budgets_csv_lands_as_decimal_by_name_and_by_plan_code(seeded, session):
    monitoring_id = project_id(session, MONITORING)
    result = run(session, "預算.csv", csv_bytes([
        BUDGET_HEADER,
        [YILAN, "106", "資本門", "1,234,567", " 2,000.5 ", ""],
        [code_of(session, MONITORING), "106", "經常門", "800", "0", "12"],
    ]))
    assert (result.kind, result.rows, result.created, result.replaced, result.unchanged) == ("budgets", 2, 2, 0, 0)
    yilan = session.scalars(sa.select(Budget).where(Budget.project_id == project_id(session, YILAN))).one()
    assert (yilan.year_roc, yilan.kind, yilan.is_synthetic) == (106, "capital", False)
    assert isinstance(yilan.original, Decimal)
    assert (yilan.original, yilan.supplementary, yilan.carried_over) == (
        Decimal("1234567"), Decimal("2000.5"), Decimal("0"))
    assert yilan.available == Decimal("1236567.5")
    monitoring = session.scalars(sa.select(Budget).where(Budget.project_id == monitoring_id)).one()
    assert (monitoring.kind, monitoring.original, monitoring.carried_over) == ("current", 800, 12)
    entry = entries(session, "ledger.import")[0]
    assert (entry.actor, entry.entity_type, entry.entity_id, entry.remote_addr) == (
        "budget-officer-lin", "ledger", "預算.csv", "10.0.0.7")
    assert entry.changes == {"kind": "budgets", "rows": 2, "created": 2, "replaced": 0, "unchanged": 0,
                             "import_id": result.import_id}  # the import's record in the history


def test_month_end_csv_imports_cumulative_figures(budgeted):
    session = budgeted
    result = run(session, "月報-106-03.csv", csv_bytes([
        MONTH_HEADER,
        [YILAN, "106", "3", "資本門", "1,200", "1,000.25", "50", "0"],
        [code_of(session, MONITORING), "106", "03", "經常門", "800", "600", "", "5"],
    ]))
    assert (result.kind, result.rows, result.created) == ("month_end", 2, 2)
    assert month_ends(session) == [
        (project_id(session, YILAN), 106, 3, "capital", Decimal("1200"), Decimal("1000.25"), Decimal("50"), 0, False),
        (project_id(session, MONITORING), 106, 3, "current", 800, 600, 0, 5, False),
    ]
    assert all(isinstance(v, Decimal) for v in month_ends(session)[0][4:8])


# 2. Encodings and XLSX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename, encode", [
    ("bom.csv", lambda rows: csv_bytes(rows, "utf-8-sig")),
    ("big5.csv", lambda rows: csv_bytes(rows, "cp950")),
    ("舊報表.CSV", lambda rows: csv_bytes(rows, "cp950")),
    ("ledger.xlsx", xlsx_bytes),
])
def test_bom_big5_and_xlsx_files_import(seeded, session, filename, encode):
    data = encode([
        BUDGET_HEADER,
        [YILAN, 106, "資本門", "1,234,567", 2000.5, None],
        [DENGUE, 106.0 if filename.endswith("xlsx") else 106, "經常門", 300, "", 7],  # Excel keeps numbers as floats
    ])
    if "big5" in filename or filename.endswith("CSV"):
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really Big5, so the fallback is what reads it
    if filename.endswith("xlsx"):
        assert data[:2] == b"PK"
    result = run(session, filename, data)
    assert (result.kind, result.created) == ("budgets", 2)
    assert budgets(session) == [
        (project_id(session, YILAN), 106, "capital", Decimal("1234567"), Decimal("2000.5"), 0, False),
        (project_id(session, DENGUE), 106, "current", 300, 0, 7, False),
    ]


def test_xlsx_numbers_and_blank_rows_keep_spreadsheet_row_numbers(budgeted):
    data = xlsx_bytes([
        MONTH_HEADER,
        [YILAN, 106, 1, "資本門", 100, 0.1, 0, 0],
        None,
        [YILAN, 106, 13, "資本門", 100, 0, 0, 0],
    ])
    for workbook in (data, as_written_by_other_tools(data)):
        header, rows = read_table("ledger.xlsx", workbook)
        assert header == MONTH_HEADER
        assert [(n, cells[:3], cells[4:6]) for n, cells in rows] == [
            (2, [YILAN, "106", "1"], ["100", "0.1"]), (4, [YILAN, "106", "13"], ["100", "0"])]
    assert b"<v>106.0</v>" in zipfile.ZipFile(io.BytesIO(as_written_by_other_tools(data))).read(
        "xl/worksheets/sheet1.xml")
    problems = refused(budgeted, "ledger.xlsx", data)
    assert [(p.row, p.field) for p in problems] == [(4, "月份")]


# 3. English headers --------------------------------------------------------------------------------------------


def test_english_headers_in_any_case(budgeted):
    session = budgeted
    result = run(session, "ledger.csv", csv_bytes([
        [" Project ", "YEAR", "Month", "Kind", "Allocated", "paid", "Payables", "SAVINGS", "remark"],
        [YILAN, "106", "6", "capital", "1,500", "900", "100", "20", "ignored column"],
        [MONITORING, "106", "6", "Current", "400", "300", "0", "0", ""],
    ]))
    assert (result.kind, result.created) == ("month_end", 2)
    rows = month_ends(session)
    assert [(r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        ("capital", 1500, 900, 100, 20), ("current", 400, 300, 0, 0)]
    english_budget = run(session, "b.csv", csv_bytes([
        ["project", "year", "kind", "original", "supplementary", "carried_over"],
        [YILAN, "107", "CAPITAL", "5,000", "0", "0"],
    ]))
    assert english_budget.kind == "budgets"
    assert session.scalar(sa.select(Budget.original).where(Budget.year_roc == 107)) == 5000


# 4. Bad rows: row number, reason, nothing written ---------------------------------------------------------------


GOOD_ROW = [YILAN, "106", "1", "資本門", "1,000", "500", "0", "0"]


@pytest.mark.parametrize("bad_row, field, words", [
    (["不存在的計畫", "106", "2", "資本門", "100", "0", "0", "0"], "計畫名稱", ["找不到計畫「不存在的計畫」", "編號"]),
    (["99999", "106", "2", "資本門", "100", "0", "0", "0"], "計畫名稱", ["找不到計畫編號「99999」"]),
    ([YILAN, "106", "13", "資本門", "100", "0", "0", "0"], "月份", ["月份須為 1 至 12", "13"]),
    ([YILAN, "106", "0", "資本門", "100", "0", "0", "0"], "月份", ["月份須為 1 至 12"]),
    ([YILAN, "106", "2", "資本門", "100", "-5", "0", "0"], "累計實支數", ["不可為負數", "-5"]),
    ([YILAN, "106", "2", "資本門", "100", "(5)", "0", "0"], "累計實支數", ["不可為負數"]),
    ([YILAN, "106", "2", "資本門", "100", "0", "五十", "0"], "應付未付數", ["須為數字", "五十"]),
    ([YILAN, "106", "2", "資本門", "1.2345", "0", "0", "0"], "累計分配數", ["小數第 3 位"]),
    ([YILAN, "106", "1", "資本門", "900", "400", "0", "0"], None, ["與第 2 列重複"]),
    ([YILAN, "106", "2", "資本門", "1,500.5", "700", "0", "0"], "累計分配數",
     ["累計分配數 1,500.5 千元超過可支用預算數 1,500 千元"]),
    ([YILAN, "107", "2", "資本門", "10", "0", "0", "0"], "累計分配數", ["可支用預算數 0 千元", "尚無 107 年度資本門預算"]),
    ([YILAN, "106", "2", "資本", "100", "0", "0", "0"], "經資門", ["經資門須為「資本門」或「經常門」", "資本"]),
    ([YILAN, "2017", "2", "資本門", "100", "0", "0", "0"], "年度", ["民國年", "106", "2017"]),
    ([YILAN, "一〇六", "2", "資本門", "100", "0", "0", "0"], "年度", ["民國年"]),
])
def test_a_bad_row_is_refused_with_its_row_and_reason_and_nothing_changes(budgeted, bad_row, field, words):
    session = budgeted
    run(session, "jan.csv", csv_bytes([MONTH_HEADER, GOOD_ROW]))
    before = snapshot(session)
    changed_good_row = [YILAN, "106", "1", "資本門", "1,000", "700", "0", "0"]  # valid on its own
    problems = refused(session, "feb.csv", csv_bytes([MONTH_HEADER, changed_good_row, bad_row]))
    assert [(p.row, p.field) for p in problems] == [(3, field)]
    for word in words:
        assert word in problems[0].reason, problems[0].reason
    assert snapshot(session) == before
    assert snapshot(session)["month_ends"][0][5] == Decimal("500")  # the valid row was not written either


def test_every_problem_of_every_row_is_reported_with_spreadsheet_row_numbers(budgeted):
    session = budgeted
    before = snapshot(session)
    text = "\r\n".join([
        ",".join(MONTH_HEADER),                                    # row 1
        f"{YILAN},106,1,資本門,\"1,000\",500,0,0",                 # row 2: good
        "某某計畫,106,1,資本門,100,0,0,0",                          # row 3: unknown project
        "",                                                        # row 4: blank
        f"{YILAN},106,13,資本門,100,-1,0,0",                       # row 5: month 13 and a negative amount
        f"{MONITORING},106,1,經常門,100,0,0,0",                    # row 6: good
        ",,,,,,,",                                                 # row 7: blank cells
        f"{YILAN},106,1,資本門,\"1,000\",600,0,0",                 # row 8: duplicate of row 2
        f"{MONITORING},106,2,經常門,900,abc,0,0",                  # row 9: over budget, paid not a number
    ]) + "\r\n"
    with pytest.raises(ImportRefused) as caught:
        import_ledger(session, "mixed.csv", text.encode("utf-8"), OFFICER)
    session.rollback()
    problems = caught.value.problems
    assert [(p.row, p.field) for p in problems] == [
        (3, "計畫名稱"), (5, "月份"), (5, "累計實支數"), (8, None), (9, "累計實支數"), (9, "累計分配數")]
    assert "與第 2 列重複" in problems[3].reason
    assert "900 千元超過可支用預算數 800 千元" in problems[5].reason
    message = str(caught.value)
    assert "共 6 個問題" in message and "未寫入任何資料" in message
    assert "第 3 列「計畫名稱」：找不到計畫「某某計畫」" in message
    assert snapshot(session) == before


def test_the_message_lists_the_first_50_problems(budgeted):
    rows = [MONTH_HEADER] + [["沒有這個計畫", "106", "1", "資本門", "0", "0", "0", "0"] for _ in range(60)]
    with pytest.raises(ImportRefused) as caught:
        import_ledger(budgeted, "many.csv", csv_bytes(rows), OFFICER)
    assert len(caught.value.problems) == 60
    assert "第 51 列" in str(caught.value) and "第 52 列" not in str(caught.value)
    assert "另有 10 個問題" in str(caught.value)


def test_a_name_shared_by_two_projects_asks_for_the_plan_code(seeded, session):
    yilan = session.scalars(sa.select(Project).where(Project.name == YILAN)).one()
    twin = Project(seq=99, code="99", name=YILAN, name_as_written=YILAN, work_plan_id=yilan.work_plan_id,
                   category=yilan.category, first_year_roc=106, last_year_roc=106)
    session.add(twin)
    session.commit()
    problems = refused(session, "b.csv", csv_bytes([BUDGET_HEADER, [YILAN, "106", "資本門", "1", "0", "0"]]))
    assert [(p.row, p.field) for p in problems] == [(2, "計畫名稱")]
    assert "請改填計畫編號" in problems[0].reason
    assert f"（編號 {yilan.code}）" in problems[0].reason and "（編號 99）" in problems[0].reason
    result = run(session, "b.csv", csv_bytes([BUDGET_HEADER, ["99", "106", "資本門", "1", "0", "0"]]))
    assert result.created == 1 and budgets(session)[0][0] == twin.id


# 5. File-level problems -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename, data, words", [
    ("ledger.csv", csv_bytes([MONTH_HEADER[:-1], GOOD_ROW[:-1]]), ["缺少欄位「累計賸餘數」", "savings"]),
    ("ledger.csv", csv_bytes([["計畫名稱", "年度", "經資門", "原預算數", "以前年度保留數"]]), ["缺少欄位「追加預算數」"]),
    ("ledger.csv", b"", ["檔案是空的"]),
    ("ledger.csv", b"\r\n\r\n", ["檔案是空的"]),
    ("ledger.xlsx", xlsx_bytes([]), ["檔案是空的"]),
    ("ledger.csv", csv_bytes([MONTH_HEADER]), ["只有標題列"]),
    ("ledger.xlsx", xlsx_bytes([MONTH_HEADER]), ["只有標題列"]),
    ("ledger.txt", csv_bytes([MONTH_HEADER, GOOD_ROW]), ["只能匯入 .csv 或 .xlsx", "ledger.txt"]),
    ("ledger.xls", b"\xd0\xcf\x11\xe0", ["另存為 .xlsx"]),
    ("ledger.csv", b"\x80\x80,\xff\r\n", ["文字編碼"]),
    ("ledger.xlsx", b"not a zip file", ["無法讀取 Excel 檔"]),
    ("ledger.csv", csv_bytes([MONTH_HEADER + ["年度"], GOOD_ROW + ["106"]]), ["「年度」出現不只一次"]),
])
def test_a_bad_file_is_refused_with_a_file_level_problem(budgeted, filename, data, words):
    before = snapshot(budgeted)
    problems = refused(budgeted, filename, data)
    assert len(problems) == 1 and problems[0].row is None, problems
    for word in words:
        assert word in problems[0].reason, problems[0].reason
    assert snapshot(budgeted) == before


def test_a_missing_column_is_named_once_and_rows_are_not_checked(budgeted):
    problems = refused(budgeted, "ledger.csv", csv_bytes([
        ["計畫名稱", "年度", "月份", "經資門", "累計分配數", "累計實支數"],
        ["不存在的計畫", "106", "13", "x", "-1", "-1"],
    ]))
    assert [(p.row, p.field) for p in problems] == [(None, "應付未付數"), (None, "累計賸餘數")]


# 6. Re-import replaces ------------------------------------------------------------------------------------------


def test_importing_a_month_again_replaces_it_and_audits_old_and_new(budgeted):
    session = budgeted
    run(session, "mar.csv", csv_bytes([MONTH_HEADER, [YILAN, "106", "3", "資本門", "1,000", "100", "10", "0"]]))
    result = run(session, "mar-fixed.csv", csv_bytes([
        MONTH_HEADER, [YILAN, "106", "3", "資本門", "1,000", "150.5", "10", "0"]]))
    assert (result.rows, result.created, result.replaced, result.unchanged) == (1, 0, 1, 0)
    rows = month_ends(session)
    assert len(rows) == 1 and rows[0][5] == Decimal("150.5")
    row_id = session.scalar(sa.select(MonthEnd.id))
    replace = entries(session, "ledger.replace")
    assert [(e.entity_type, e.entity_id, e.changes, e.actor) for e in replace] == [
        ("month_end", str(row_id), {"paid": ["100", "150.5"]}, "budget-officer-lin")]
    assert entries(session, "ledger.import")[-1].changes == {
        "kind": "month_end", "rows": 1, "created": 0, "replaced": 1, "unchanged": 0, "import_id": result.import_id}


def test_importing_identical_values_reports_unchanged_and_no_replace(budgeted):
    session = budgeted
    data = csv_bytes([MONTH_HEADER, [YILAN, "106", "3", "資本門", "1,000", "100", "10", "0"]])
    run(session, "mar.csv", data)
    before = month_ends(session)
    again = run(session, "mar.csv", data)
    assert (again.created, again.replaced, again.unchanged) == (0, 0, 1)
    assert month_ends(session) == before
    assert entries(session, "ledger.replace") == []
    # the budgets imported by the fixture, re-imported with one change: only that field is logged
    result = run(session, "budgets.csv", csv_bytes([
        BUDGET_HEADER,
        [YILAN, "106", "資本門", "1,000", "250", "300"],
        [MONITORING, "106", "經常門", "800", "", ""],
    ]))
    assert (result.replaced, result.unchanged) == (1, 1)
    budget_id = session.scalar(sa.select(Budget.id).where(Budget.project_id == project_id(session, YILAN)))
    assert [(e.entity_type, e.entity_id, e.changes) for e in entries(session, "ledger.replace")] == [
        ("budget", str(budget_id), {"supplementary": ["200", "250"]})]


def test_synthetic_figures_are_neither_replaced_nor_counted_as_budget(seeded, session):
    yilan = project_id(session, YILAN)
    session.add_all([
        Budget(project_id=yilan, year_roc=106, kind="capital", original=Decimal(9999), is_synthetic=True),
        MonthEnd(project_id=yilan, year_roc=106, month=1, kind="capital", allocated=Decimal(5), is_synthetic=True),
    ])
    session.commit()
    problems = refused(session, "m.csv", csv_bytes([MONTH_HEADER, [YILAN, "106", "1", "資本門", "10", "0", "0", "0"]]))
    assert "可支用預算數 0 千元" in problems[0].reason  # demo budgets do not count
    run(session, "b.csv", csv_bytes([BUDGET_HEADER, [YILAN, "106", "資本門", "100", "0", "0"]]))
    result = run(session, "m.csv", csv_bytes([MONTH_HEADER, [YILAN, "106", "1", "資本門", "10", "0", "0", "0"]]))
    assert result.created == 1
    assert sorted((r[4], r[8]) for r in month_ends(session)) == [(5, True), (10, False)]
    assert sorted((r[3], r[6]) for r in budgets(session)) == [(100, False), (9999, True)]
    # demo figures of a programme do not block real figures of its sub-plan
    session.add(Budget(project_id=project_id(session, FORENSIC), year_roc=106, kind="capital",
                       original=Decimal(1), is_synthetic=True))
    session.commit()
    assert run(session, "sub.csv", csv_bytes([BUDGET_HEADER, [DENGUE, "106", "資本門", "300", "0", "0"]])).created == 1


# 7. Programme and sub-plans are never both counted ---------------------------------------------------------------


def test_programme_and_sub_plan_figures_for_one_year_and_kind_are_refused(seeded, session):
    assert DENGUE in [s.name for s in session.scalars(sa.select(Project).where(Project.name == FORENSIC)).one().sub_plans]
    run(session, "programme.csv", csv_bytes([BUDGET_HEADER, [FORENSIC, "106", "資本門", "5,000", "0", "0"]]))
    before = snapshot(session)
    problems = refused(session, "sub.csv", csv_bytes([BUDGET_HEADER, [DENGUE, "106", "資本門", "300", "0", "0"]]))
    assert [(p.row, p.field) for p in problems] == [(2, "計畫名稱")]
    assert f"「{DENGUE}」是「{FORENSIC}」的子計畫" in problems[0].reason
    assert "重複計算" in problems[0].reason and "資料庫已有" in problems[0].reason
    assert snapshot(session) == before
    # another kind or another year of the sub-plan is fine
    result = run(session, "sub.csv", csv_bytes([
        BUDGET_HEADER, [DENGUE, "106", "經常門", "300", "0", "0"], [DENGUE, "107", "資本門", "300", "0", "0"]]))
    assert result.created == 2


def test_programme_and_sub_plan_in_the_same_file_are_both_refused(seeded, session):
    problems = refused(session, "both.csv", csv_bytes([
        BUDGET_HEADER,
        [FORENSIC, "106", "經常門", "5,000", "0", "0"],
        [YILAN, "106", "資本門", "1", "0", "0"],
        [DENGUE, "106", "經常門", "300", "0", "0"],
    ]))
    assert [(p.row, p.field) for p in problems] == [(2, "計畫名稱"), (4, "計畫名稱")]
    assert f"「{DENGUE}」是「{FORENSIC}」的子計畫" in problems[0].reason and "本檔第 4 列" in problems[0].reason
    assert "本檔第 2 列" in problems[1].reason
    assert budgets(session) == []


def test_month_end_figures_of_a_sub_plan_are_refused_when_the_programme_has_some(seeded, session):
    run(session, "b.csv", csv_bytes([BUDGET_HEADER,
                                     [FORENSIC, "106", "資本門", "5,000", "0", "0"],
                                     [DENGUE, "106", "經常門", "300", "0", "0"]]))
    # budgets of the programme (capital) and the sub-plan (current) do not clash; month-end figures are judged alone
    run(session, "jan.csv", csv_bytes([MONTH_HEADER, [DENGUE, "106", "1", "經常門", "100", "0", "0", "0"]]))
    problems = refused(session, "feb.csv", csv_bytes([
        MONTH_HEADER, [FORENSIC, "106", "2", "經常門", "0", "0", "0", "0"]]))
    assert [(p.row, p.field) for p in problems] == [(2, "計畫名稱")]
    assert f"「{DENGUE}」是「{FORENSIC}」的子計畫" in problems[0].reason and "月報" in problems[0].reason


# Large files: constant queries, bulk writes, progress ---------------------------------------------------------------


def _leaf_projects(session) -> list[str]:
    """Projects with neither a parent nor sub-plans."""
    parents = set(session.scalars(sa.select(Project.parent_id).where(Project.parent_id.is_not(None))))
    return [p.name for p in session.scalars(sa.select(Project).where(Project.parent_id.is_(None)).order_by(Project.id))
            if p.id not in parents]


def _count_selects(app, session, filename: str, data: bytes, progress=None):
    selects = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = db.get_engine(app)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = run(session, filename, data, progress=progress)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return result, len(selects)


def test_a_large_file_takes_as_many_queries_as_a_small_one_and_reports_progress(seeded, session):
    names = _leaf_projects(session)
    small = [BUDGET_HEADER] + [[name, "100", "資本門", "100,000", "0", "0"] for name in names[:3]]
    large = [BUDGET_HEADER] + [[name, str(year), kind, f"{year},000", "0", "0"]
                               for name in names for year in range(100, 150) for kind in ("資本門", "經常門")]
    assert len(large) - 1 > 2500
    _, small_selects = _count_selects(seeded, session, "small.csv", csv_bytes(small))
    calls = []
    result, large_selects = _count_selects(seeded, session, "large.csv", csv_bytes(large), progress=calls.append)
    assert large_selects == small_selects
    assert (result.rows, result.created, result.unchanged) == (len(large) - 1, len(large) - 4, 3)
    assert calls[:2] == [1000, 2000] and calls[-1] == result.rows and calls == sorted(calls)
    assert session.scalar(sa.select(sa.func.count()).select_from(Budget)) == len(large) - 1
    assert session.scalar(sa.select(Budget.original).where(Budget.year_roc == 149).limit(1)) == Decimal("149000")


def test_budget_cut_below_what_was_allocated_is_refused(seeded, session):
    import_ledger(session, "b.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "500,000", 0, 0]]), OFFICER)
    import_ledger(session, "m.csv", csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "400,000", "300,000", 0, 0]]),
                  OFFICER)
    session.commit()
    before = snapshot(session)
    with pytest.raises(ImportRefused) as refused:
        import_ledger(session, "b2.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "350,000", "20,000", 0]]),
                      OFFICER)
    session.rollback()
    (problem,) = refused.value.problems
    assert problem.row == 2 and "370,000" in problem.reason and "400,000" in problem.reason
    assert snapshot(session) == before
    result = import_ledger(session, "b3.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "380,000", "20,000", 0]]),
                           OFFICER)
    assert result.replaced == 1


def test_a_huge_number_in_a_cell_is_a_problem_not_a_crash(seeded, session):
    problems = refused(session, "b.csv", csv_bytes([BUDGET_HEADER, [YILAN, "1" * 5000, "資本門", "1", "0", "0"],
                                                   ["9" * 5000, "106", "資本門", "1", "0", "0"]]))
    assert {problem.field for problem in problems} >= {"年度", "計畫名稱"}
