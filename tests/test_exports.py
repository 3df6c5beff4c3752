"""Plan codes users see (portfolio, project page, API, exports) and export files an officer can open safely."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import jsonschema
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id, token_for
from tracker.models import PlanEntry, Project
from tracker.services import exports
from tracker.services.execution import execution_report

CHIAYI = "法務部調查局嘉義市調查站辦公房舍遷建計畫"  # 序號 48 of the 106 plan; its internal id is not 48
FORENSIC = "法務部調查局前瞻鑑識科技進階計畫"  # 序號 49, with sub-plans 49-1 …


@pytest.fixture
def ledger(seeded, session):
    """106 capital figures for four programmes, one with amounts in 千元 with decimals."""
    add_budget(session, YILAN, 500_000, 20_000, 30_000)            # available 550,000
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)  # executed 180,000
    add_budget(session, YUNLIN, "200000.5")                         # 200,000.5 千元
    add_month(session, YUNLIN, 8, "100000.25", "95000.125", 5_000)
    add_budget(session, TAICHUNG, 1_000_000)
    add_month(session, TAICHUNG, 7, 100_000, 90_000)
    add_budget(session, HSINCHU, 80_000)
    session.commit()
    return seeded


@pytest.fixture
def officer(ledger, make_user, auth, client):
    make_user("officer", "budget_officer")
    auth.login("officer")
    return client


def code_of(session, name: str) -> str:
    return session.scalar(sa.select(Project.code).where(Project.name == name))


def rename(session, name: str, new: str) -> None:
    """Rename a programme, and its name in the year's plan, which the table shows."""
    session.execute(sa.update(PlanEntry).where(PlanEntry.name == name).values(name=new))
    session.execute(sa.update(Project).where(Project.name == name).values(name=new))
    session.commit()


def csv_rows(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def workbook(response):
    return load_workbook(io.BytesIO(response.get_data()))


# --- the plan code on every page and in the API -------------------------------------------------

def test_the_portfolio_shows_and_finds_the_plan_code(officer, session):
    chiayi = project_id(session, CHIAYI)
    assert chiayi != 48  # the point: ids and codes diverge
    html = officer.get("/?q=48").get_data(as_text=True)
    assert "計畫編號" in html and CHIAYI in html
    row = html.split(f'href="/projects/{chiayi}"')[0].rsplit("<tr>", 1)[1]
    assert '<td class="code">48</td>' in row
    assert YILAN not in html  # the code is matched exactly, not as part of other numbers


def test_a_sub_plan_code_finds_its_programme(officer, session):
    sub = session.scalars(sa.select(Project).where(Project.parent_id == project_id(session, FORENSIC))
                          .order_by(Project.seq)).first()
    assert sub.code.startswith("49-")
    html = officer.get(f"/?q={sub.code}").get_data(as_text=True)
    assert FORENSIC in html and "共 1 個計畫" in html


def test_the_project_page_heading_carries_the_code(officer, session):
    html = officer.get(f"/projects/{project_id(session, CHIAYI)}").get_data(as_text=True)
    heading = html.split("<h1>")[1].split("</h1>")[0]
    assert "編號 48" in heading and CHIAYI in heading
    forensic = officer.get(f"/projects/{project_id(session, FORENSIC)}").get_data(as_text=True)
    first_sub = session.scalars(sa.select(Project).where(Project.parent_id == project_id(session, FORENSIC))
                                .order_by(Project.seq)).first()
    assert f"編號 {first_sub.code}" in forensic
    sub_page = officer.get(f"/projects/{first_sub.id}").get_data(as_text=True)
    assert f"編號 {first_sub.code}" in sub_page.split("<h1>")[1].split("</h1>")[0]


def _validator(client, headers, name: str):
    document = client.get("/api/v1/openapi.json", headers=headers).get_json()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_the_api_gives_the_code_of_projects_and_sub_plans(ledger, make_user, client, session):
    make_user("reader", "leadership")
    headers = {"Authorization": f"Bearer {token_for(ledger, 'reader')}"}
    body = client.get(f"/api/v1/projects/{project_id(session, CHIAYI)}", headers=headers).get_json()
    assert body["code"] == "48" and body["id"] != 48
    _validator(client, headers, "Project").validate(body)
    listed = client.get("/api/v1/projects?q=48", headers=headers).get_json()
    assert [p["code"] for p in listed["projects"]] == ["48"]
    sub = session.scalars(sa.select(Project).where(Project.parent_id == project_id(session, FORENSIC))
                          .order_by(Project.seq)).first()
    assert client.get(f"/api/v1/projects/{sub.id}", headers=headers).get_json()["code"] == sub.code


def test_execution_rows_by_project_carry_the_code(ledger, make_user, client, session):
    report = execution_report(session, 106, 8, "project")
    rows = {r.key: r for r in report.rows}
    assert rows[YILAN].code == code_of(session, YILAN) and rows[YILAN].code is not None
    assert report.total.code is None
    assert all(r.code is None for r in execution_report(session, 106, 8, "system").rows)
    make_user("reader", "leadership")
    headers = {"Authorization": f"Bearer {token_for(ledger, 'reader')}"}
    body = client.get("/api/v1/execution?as_of=106-08&by=project", headers=headers).get_json()
    by_key = {r["key"]: r for r in body["rows"]}
    assert by_key[YILAN]["code"] == code_of(session, YILAN)
    assert body["total"]["code"] is None
    validator = _validator(client, headers, "ExecutionRow")
    for row in body["rows"]:
        validator.validate(row)


# --- exports ----------------------------------------------------------------------------------

def test_csv_by_project_carries_the_code_and_plain_amounts(officer, session):
    rows = csv_rows(officer.get("/execution?as_of=106-08&by=project&format=csv"))
    headings = rows[1]
    assert headings[:2] == ["計畫編號", "項目"] and headings[-2:] == ["數字月份", "已報／計畫數"]
    by_name = {r[1]: dict(zip(headings, r)) for r in rows[2:]}
    yilan = by_name[YILAN]
    assert yilan["計畫編號"] == code_of(session, YILAN)
    assert yilan["可支用預算數"] == "550000" and yilan["累計執行數"] == "180000"  # not 550000.000
    assert yilan["分配預算執行率(%)"] == "60.00"  # rates keep two decimals
    yunlin = by_name[YUNLIN]
    assert yunlin["可支用預算數"] == "200000.5" and yunlin["累計實支數"] == "95000.125"
    assert (yunlin["數字月份"], yunlin["已報／計畫數"]) == ("8月", "1／1")
    total = by_name["合計"]
    assert total["計畫編號"] == "" and total["已報／計畫數"] == "2／4"
    assert not any(cell.endswith(".000") or cell.endswith(".0") for r in rows[2:] for cell in r)


def test_names_that_would_be_formulas_stay_text(officer, session):
    dangerous = {YILAN: '=HYPERLINK("http://example.invalid","點我")', YUNLIN: "+1+1", TAICHUNG: "-2-2",
                 HSINCHU: "@SUM(A1)"}
    for name, new in dangerous.items():
        rename(session, name, new)
    rows = csv_rows(officer.get("/execution?as_of=106-08&by=project&format=csv"))
    names = [r[1] for r in rows[2:-1]]
    assert sorted(names) == sorted("'" + n for n in dangerous.values())
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for cell in r)

    book = workbook(officer.get("/execution?as_of=106-08&by=project&format=xlsx"))
    sheet = book.active
    cells = [sheet.cell(row=r, column=2) for r in range(3, sheet.max_row)]  # the names, not the total
    assert sorted(c.value for c in cells) == sorted(dangerous.values())  # the names as they are …
    for cell in cells:
        assert cell.data_type == "s" and cell.quotePrefix  # … as text: no formula in any cell
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_a_negative_amount_stays_a_number(officer, session):
    # 已分配未執行數 can be negative: a number, not text with an apostrophe
    add_month(session, HSINCHU, 8, 1_000, 1_500)
    session.commit()
    rows = csv_rows(officer.get("/execution?as_of=106-08&by=project&format=csv"))
    hsinchu = dict(zip(rows[1], next(r for r in rows[2:] if r[1] == HSINCHU)))
    assert hsinchu["已分配未執行數"] == "-500"


def test_xlsx_formats_widths_and_frozen_header(officer, session):
    book = workbook(officer.get("/execution?as_of=106-08&by=project&format=xlsx"))
    sheet = book.active
    headings = [c.value for c in sheet[2]]
    assert headings[:2] == ["計畫編號", "項目"] and headings[-2:] == ["數字月份", "已報／計畫數"]
    assert sheet.freeze_panes == "C3"  # the note and the headings, and each row's code and name, stay in view
    column = {h: i + 1 for i, h in enumerate(headings)}
    row_of = {sheet.cell(row=r, column=2).value: r for r in range(3, sheet.max_row + 1)}
    yilan, yunlin = row_of[YILAN], row_of[YUNLIN]
    available = sheet.cell(row=yilan, column=column["可支用預算數"])
    assert available.value == 550000 and available.number_format == "#,##0"
    decimal = sheet.cell(row=yunlin, column=column["可支用預算數"])
    assert decimal.value == pytest.approx(200000.5) and decimal.number_format == "#,##0.###"
    rate = sheet.cell(row=yilan, column=column["分配預算執行率(%)"])
    assert rate.value == pytest.approx(60) and rate.number_format == '0.00"%"'
    assert sheet.cell(row=yilan, column=1).value == code_of(session, YILAN)
    assert sheet.cell(row=yilan, column=1).data_type == "s"
    widths = {h: sheet.column_dimensions[chr(ord("A") + i - 1)].width for h, i in column.items()}
    assert widths["項目"] >= 40  # long programme names
    assert all(w and w >= 8 for w in widths.values())
    assert widths["項目"] > widths["可支用預算數"] > widths["計畫編號"] - 1


def test_xlsx_by_system_freezes_the_header_and_the_name(officer):
    book = workbook(officer.get("/execution?as_of=106-08&by=system&format=xlsx"))
    sheet = book.active
    assert sheet.freeze_panes == "B3"
    assert [c.value for c in sheet[2]][0] == "項目"  # no code column for groups
    assert [sheet.cell(row=r, column=1).value for r in range(3, sheet.max_row + 1)][-1] == "合計"


def test_the_export_helpers():
    assert exports.plain_amount(D("823000.000")) == "823000"
    assert exports.plain_amount(D("12.500")) == "12.5"
    assert exports.plain_amount(D("1E+5")) == "100000"
    assert exports.plain_amount(D("-0.000")) == "0"
    for text in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert exports.csv_text(text) == "'" + text
    assert exports.csv_text("宜蘭監獄") == "宜蘭監獄" and exports.csv_text("49-3") == "49-3"
