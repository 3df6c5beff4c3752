"""Execution rates at every level, from real rows in the database, through the service, the API and the pages."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import jsonschema
import pytest
from openpyxl import load_workbook

from tracker import db
from tracker.services import accounts, audit
from tracker.services.execution import execution_report
from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id

@pytest.fixture
def ledger(seeded, session):
    """Four projects' 106 capital figures, hand-picked so every rate can be checked by hand."""
    add_budget(session, YILAN, 500_000, 20_000, 30_000)            # available 550,000
    add_month(session, YILAN, 5, 150_000, 100_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)  # executed 180,000: 60%
    add_budget(session, YUNLIN, 200_000)
    add_month(session, YUNLIN, 5, 50_000, 50_000)
    add_month(session, YUNLIN, 8, 100_000, 95_000, 5_000)           # executed 100,000: 100%
    add_budget(session, TAICHUNG, 1_000_000)                        # joint: 檢察 and 行政執行
    add_month(session, TAICHUNG, 4, 40_000, 40_000)
    add_month(session, TAICHUNG, 7, 100_000, 90_000)                # no August row: July stands
    add_budget(session, HSINCHU, 80_000)                            # budget, nothing allocated yet
    add_budget(session, YILAN, 9_999, kind="current")               # another kind never mixes in
    session.commit()
    return seeded


def by_key(report):
    return {row.key: row for row in report.rows}


def test_by_project(ledger, session):
    report = execution_report(session, 106, 8, "project")
    rows = by_key(report)
    yilan = rows[YILAN]
    assert yilan.figures.available == D(550_000)
    assert (yilan.rates.executed, yilan.rates.allocation_rate, yilan.rates.allocated_unexecuted) == (D(180_000), D(60), D(120_000))
    assert yilan.rates.spend_rate == D(50)
    assert rows[TAICHUNG].figures.allocated == D(100_000)  # carried from July
    assert rows[HSINCHU].rates.allocation_rate is None and rows[HSINCHU].rates.achievement_rate == D(0)
    assert [r.key for r in report.rows] == [YILAN, YUNLIN, HSINCHU, TAICHUNG]  # plan order
    # the forecast of 宜蘭: recent share (180,000 − 100,000) ÷ (300,000 − 150,000), applied to the 250,000 left
    assert round(yilan.forecast.rate, 2) == D("56.97")


def test_by_system_counts_a_joint_project_in_both_and_the_total_once(ledger, session):
    report = execution_report(session, 106, 8, "system")
    rows = by_key(report)
    assert set(rows) == {"檢察", "矯正", "行政執行"}
    corrections = rows["矯正"]
    assert (corrections.figures.allocated, corrections.rates.executed) == (D(400_000), D(280_000))
    assert corrections.rates.allocation_rate == D(70)  # not the 80% average of 60% and 100%
    assert rows["行政執行"].figures.available == D(1_080_000)
    assert rows["檢察"].figures.available == D(1_000_000)
    assert report.total.figures.available == D(1_830_000)  # 臺中 counted once
    assert report.total.rates.allocation_rate == D(74)


def test_by_category_work_plan_and_ministry(ledger, session):
    categories = by_key(execution_report(session, 106, 8, "category"))
    assert list(categories) == ["公共建設", "社會發展"]
    assert categories["公共建設"].figures.available == D(1_080_000)
    plans = by_key(execution_report(session, 106, 8, "work_plan"))
    assert plans["改善監所計畫"].rates.allocation_rate == D(70)
    assert plans["檢察機關擴(遷)建計畫"].rates.allocation_rate == D(90)
    ministry = execution_report(session, 106, 8, "ministry")
    assert [r.key for r in ministry.rows] == ["法務部"]
    assert round(ministry.rows[0].rates.achievement_rate, 2) == D("20.22")  # 370,000 ÷ 1,830,000


def test_current_kind_and_default_month(ledger, session):
    current = execution_report(session, 106, None, "project", "current")
    assert [r.key for r in current.rows] == [YILAN] and current.rows[0].figures.available == D(9_999)
    assert execution_report(session, 106, None, "project").month == 8  # the latest month with figures
    earlier = by_key(execution_report(session, 106, 5, "project"))
    assert earlier[YILAN].figures.allocated == D(150_000)
    assert TAICHUNG in earlier and earlier[TAICHUNG].figures.allocated == D(40_000)


def test_filters(ledger, session):
    assert set(by_key(execution_report(session, 106, 8, "project", system="corrections"))) == {YILAN, YUNLIN}
    assert set(by_key(execution_report(session, 106, 8, "project", category="公共建設"))) == {TAICHUNG, HSINCHU}


def test_imported_figures_hide_synthetic_ones(ledger, session):
    add_budget(session, YUNLIN, 777_000, synthetic=True)
    add_month(session, YUNLIN, 8, 1_000, 1_000, synthetic=True)
    session.commit()
    report = execution_report(session, 106, 8, "project")
    assert not report.is_synthetic and by_key(report)[YUNLIN].figures.available == D(200_000)


# --- API ------------------------------------------------------------------

@pytest.fixture
def api(ledger, make_user, client):
    make_user("officer", "budget_officer")
    with db.new_session(ledger) as s:
        token, _ = accounts.issue_token(s, "officer", audit.CLI, 90)
        s.commit()
    return lambda path: client.get(path, headers={"Authorization": f"Bearer {token}"})


def schema(api, name):
    document = api("/api/v1/openapi.json").get_json()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


@pytest.mark.parametrize("by, keys", [
    ("project", [YILAN, YUNLIN, HSINCHU, TAICHUNG]),
    ("work_plan", ["改善監所計畫", "行政執行機關擴(遷)建計畫", "檢察機關擴(遷)建計畫"]),
    ("system", ["檢察", "矯正", "行政執行"]),
    ("category", ["公共建設", "社會發展"]),
    ("ministry", ["法務部"]),
])
def test_execution_api_for_each_level(api, by, keys):
    response = api(f"/api/v1/execution?year=106&as_of=2017-08&by={by}&kind=capital")
    assert response.status_code == 200
    body = response.get_json()
    schema(api, "ExecutionTable").validate(body)
    assert [row["key"] for row in body["rows"]] == keys
    assert body["as_of"] == "2017-08" and body["total"]["allocation_rate"] == 74.0


def test_execution_api_numbers(api):
    rows = {r["key"]: r for r in api("/api/v1/execution?as_of=106-08&by=project").get_json()["rows"]}
    yilan = rows[YILAN]
    assert (yilan["available_budget"], yilan["allocated"], yilan["executed"], yilan["payables"]) == (550000, 300000, 180000, 20000)
    assert (yilan["allocation_rate"], yilan["achievement_rate"], yilan["spend_rate"]) == (60.0, 32.73, 50.0)
    assert yilan["forecast_rate"] == 56.97 and yilan["allocated_unexecuted"] == 120000
    assert rows[HSINCHU]["allocation_rate"] is None and rows[HSINCHU]["spend_rate"] is None


def test_execution_api_defaults_and_refusals(api):
    body = api("/api/v1/execution").get_json()
    assert (body["year"], body["as_of"], body["by"], body["kind"]) == (106, "2017-08", "project", "capital")
    for query, field in (("by=agency", "by"), ("as_of=2017-13", "as_of"), ("kind=both", "kind"),
                         ("year=107&as_of=2017-08", "as_of"), ("system=法院", "system")):
        response = api(f"/api/v1/execution?{query}")
        assert response.status_code == 400 and field in response.get_json()["error"], query


# --- pages ----------------------------------------------------------------

@pytest.fixture
def officer(ledger, make_user, auth, client):
    make_user("officer", "budget_officer")
    auth.login("officer")
    return client


def test_execution_page_official_layout(officer):
    html = officer.get("/execution?as_of=106-08&by=system").get_data(as_text=True)
    for heading in ("可支用預算數", "累計分配數", "累計執行數", "分配預算執行率", "經費達成率", "已分配未執行數", "預估年底執行率"):
        assert heading in html
    assert "70.00%" in html and "合計（法務部）" in html and "74.00%" in html
    assert "模擬資料" not in html


def test_execution_page_sorts(officer):
    html = officer.get("/execution?as_of=106-08&sort=allocation_rate&dir=desc").get_data(as_text=True)
    order = [name for name in (YUNLIN, TAICHUNG, YILAN, HSINCHU) if name in html]
    positions = [html.index(f">{name}</a>") for name in order]
    assert positions == sorted(positions)  # 100%, 90%, 60%, then — last


def test_execution_exports_what_is_shown(officer):
    response = officer.get("/execution?as_of=106-08&by=system&format=csv")
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][:3] == ["項目", "可支用預算數", "累計分配數"]
    assert [r[0] for r in rows[2:]] == ["檢察", "矯正", "行政執行", "合計"]
    assert rows[3][4] == "70.00"
    xlsx = officer.get("/execution?as_of=106-08&by=system&format=xlsx")
    book = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)
    sheet_rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert [r[0] for r in sheet_rows[2:]] == ["檢察", "矯正", "行政執行", "合計"]
    assert sheet_rows[3][1] == 750000


def test_execution_page_bad_month_is_explained(officer):
    response = officer.get("/execution?as_of=106-13")
    assert response.status_code == 400 and "月份須為 1 至 12" in response.get_data(as_text=True)


def test_project_page_month_by_month(officer, session):
    html = officer.get(f"/projects/{project_id(session, YILAN)}").get_data(as_text=True)
    assert "106年5月" in html and "106年8月" in html and "60.00%" in html
    assert "可支用預算數 550,000 千元" in html and "可支用預算數 9,999 千元" in html
    assert f"/execution/s-curve.svg?project={project_id(session, YILAN)}" in html.replace("&amp;", "&")


def test_the_export_service_names_and_fills_the_file(officer, session):
    from tracker.services import execution, exports

    report = execution.execution_report(session, 106, 8, "system")
    file = exports.execution_file(report, report.rows, "csv")
    assert file.name == "execution-106-08-system.csv" and file.mimetype == "text/csv; charset=utf-8"
    lines = file.body.decode("utf-8").lstrip("\ufeff").splitlines()
    assert lines[0].startswith("106年度 資本門 截至 8 月") and lines[-1].startswith("合計,")
    with pytest.raises(ValueError):
        exports.execution_file(report, report.rows, "pdf")


# --- the month of each row's figures (issue 12: nothing carried forward silently) --------------

def test_each_row_says_the_month_its_figures_are_from(ledger, session):
    report = execution_report(session, 106, 8, "project")
    rows = by_key(report)
    assert (rows[YILAN].figures_month, rows[YILAN].is_reported) == (8, True)
    assert (rows[TAICHUNG].figures_month, rows[TAICHUNG].is_reported) == (7, False)  # July's, said to be July's
    assert (rows[HSINCHU].figures_month, rows[HSINCHU].is_reported) == (None, False)  # a budget only
    assert (report.total.projects, report.total.reported, report.total.carried) == (4, 2, 1)
    # the total still sums what the rows show, 臺中's July figures included
    assert report.total.figures.allocated == D(500_000)
    systems = by_key(execution_report(session, 106, 8, "system"))
    assert (systems["行政執行"].projects, systems["行政執行"].reported, systems["行政執行"].figures_month) == (2, 0, 7)


def test_the_page_marks_a_carried_row_and_counts_the_total(officer):
    html = officer.get("/execution?as_of=106-08").get_data(as_text=True)
    taichung = html[html.index(f">{TAICHUNG}</a>"):]
    taichung = taichung[:taichung.index("</th>")]
    assert "未報" in taichung and "7 月" in taichung
    yilan = html[html.index(f">{YILAN}</a>"):]
    assert "未報" not in yilan[:yilan.index("</th>")]
    assert "（2／4 個計畫已報 8 月）" in html and "其中 1 個沿用較早月份數字" in html


def test_the_api_gives_each_rows_figures_month(ledger, make_user, client):
    from conftest import token_for

    make_user("reader", "leadership")
    headers = {"Authorization": f"Bearer {token_for(ledger, 'reader')}"}
    body = client.get("/api/v1/execution?as_of=106-08", headers=headers).get_json()
    rows = {row["key"]: row for row in body["rows"]}
    assert (rows[YILAN]["figures_month"], rows[TAICHUNG]["figures_month"], rows[HSINCHU]["figures_month"]) == (8, 7, None)
    assert body["total"]["reported"] == 2 and body["total"]["projects"] == 4
