"""The year close (年度結束): the unexecuted capital budget carried into next year's 以前年度保留數, then the year
read-only: `tracker year close` and the budget officers' page."""
from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from conftest import (
    HSINCHU,
    YILAN,
    YUNLIN,
    add_budget,
    add_month,
    csrf_token,
    project_id,
)
from test_ledger_import import BUDGET_HEADER, MONTH_HEADER, csv_bytes

from tracker.models import (
    Alert,
    AuditEntry,
    Budget,
    MonthEnd,
    Plan,
    ProgressReport,
    Project,
    User,
)
from tracker.services import audit, execution, plan_years, progress, review, scans
from tracker.services.progress import ProgressRefused

BOAI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
CLOSED = "民國 106 年度已辦理年度結束"


def code_of(session, name: str) -> str:
    return session.scalar(sa.select(Project.code).where(Project.name == name))


def available_107(session, name: str) -> D | None:
    """The 107 可支用預算數 of a programme as the execution table shows it."""
    report = execution.execution_report(session, 107, 12, "project", "capital")
    rows = {row.key_id: row for row in report.rows}
    row = rows.get(project_id(session, name))
    return None if row is None else row.figures.available


def count(session, table) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(table))


def open_alerts(session) -> list[Alert]:
    session.expire_all()
    return list(session.scalars(sa.select(Alert).where(Alert.status != "resolved")))


@pytest.fixture
def december(seeded, runner, session, tmp_path):
    """106 capital budgets and December figures imported as a budget officer does, and 107's budget of 宜蘭:
    宜蘭 550,000 with 430,000 executed (120,000 unexecuted; its alerts open), 雲林 fully executed."""
    budgets = tmp_path / "budgets.csv"
    budgets.write_bytes(csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "550,000", 0, 0],
                                   [YUNLIN, 106, "資本門", "200,000", 0, 0], [YILAN, 107, "資本門", "300,000", 0, 0]]))
    assert runner.invoke(args=["ledger", "import", str(budgets)]).exit_code == 0
    month = tmp_path / "month-12.csv"
    month.write_bytes(csv_bytes([MONTH_HEADER, [YILAN, 106, 12, "資本門", "550,000", "400,000", "20,000", "10,000"],
                                 [YUNLIN, 106, 12, "資本門", "200,000", "200,000", 0, 0]]))
    result = runner.invoke(args=["ledger", "import", str(month)])
    assert result.exit_code == 0, result.output
    assert {a.kind for a in open_alerts(session)} == {"LOW_EXECUTION", "BELOW_TARGET"}  # 宜蘭's, judged at once
    return seeded


# --- the CLI ---------------------------------------------------------------------------------------

def test_close_106_carries_the_unexecuted_amount_into_107_and_makes_106_read_only(december, runner, session,
                                                                                  tmp_path):
    assert available_107(session, YILAN) == D(300_000)
    result = runner.invoke(args=["year", "close", "106", "--format", "json", "--dry-run"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["year"] == 106 and shown["closed"] is False
    by_code = {p["code"]: p for p in shown["proposals"]}
    assert by_code[code_of(session, YILAN)] == {
        "project_id": project_id(session, YILAN), "code": code_of(session, YILAN), "name": YILAN,
        "available": "550000", "executed": "430000", "proposed": "120000"}
    assert by_code[code_of(session, YUNLIN)]["proposed"] == "0"

    result = runner.invoke(args=["year", "close", "106", "--accept-all"])
    assert result.exit_code == 0, result.output
    assert "107 budgets: 0 were created, 1 were changed; 2 open alerts were resolved" in result.output
    # the carry-over counts in 107's available budget: 原預算 300,000 + 以前年度保留數 120,000
    assert available_107(session, YILAN) == D(420_000)
    assert available_107(session, YUNLIN) is None  # nothing to carry: no empty 107 budget is made
    session.expire_all()
    plan = session.get(Plan, 106)
    assert plan.is_closed and plan.closed_by == "cli" and plan_years.is_closed(session, 106)
    # audited: the budget changed (old → new) and the close
    change = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "year.carry_over")).one()
    assert change.entity_type == "budget" and change.changes["carried_over"] == ["0", "120000"]
    close = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "year.close")).one()
    assert close.entity_id == "106" and close.changes["resolved"] == 2
    # its open alerts are resolved with the reason 年度結束, and a scan of 106 opens nothing again
    assert open_alerts(session) == []
    resolved = session.scalars(sa.select(Alert)).all()
    assert {a.resolved_reason for a in resolved} == {"年度結束"} and all(a.resolved_at for a in resolved)
    rescan = scans.run_scan("execution", session, date(2017, 12, 31), december.config, full=True)
    session.commit()
    assert rescan.opened == 0 and open_alerts(session) == []

    # 106 is read-only: an import for 106 is refused, naming the year; 107 still imports
    month = tmp_path / "again.csv"
    month.write_bytes(csv_bytes([MONTH_HEADER, [YILAN, 106, 12, "資本門", "550,000", "450,000", 0, 0],
                                 [YUNLIN, 106, 12, "資本門", "200,000", "200,000", 0, 0]]))
    result = runner.invoke(args=["ledger", "import", str(month)])
    assert result.exit_code == 1 and CLOSED in result.output and "第 2 列「年度」" in result.output
    assert "本檔共 2 列屬該年度" in result.output and "Traceback" not in result.output
    session.expire_all()
    assert session.scalar(sa.select(MonthEnd.paid).where(MonthEnd.project_id == project_id(session, YILAN),
                                                         MonthEnd.month == 12)) == D(400_000)
    later = tmp_path / "107.csv"
    later.write_bytes(csv_bytes([MONTH_HEADER, [YILAN, 107, 1, "資本門", "10,000", "5,000", 0, 0]]))
    assert runner.invoke(args=["ledger", "import", str(later)]).exit_code == 0
    # the import that brought 106's December figures cannot be undone
    result = runner.invoke(args=["ledger", "undo", "2"])
    assert result.exit_code == 1 and "第 2 次匯入不能復原" in result.output and CLOSED in result.output
    # closing twice is refused
    result = runner.invoke(args=["year", "close", "106", "--accept-all"])
    assert result.exit_code == 1 and "已由 cli 辦理年度結束，不能再辦理一次" in result.output
    result = runner.invoke(args=["year", "close", "106", "--dry-run", "--format", "json"])
    assert json.loads(result.output)["closed"] is True


def test_dry_run_writes_nothing_and_a_choice_is_required(december, runner, session, tmp_path):
    before = (count(session, AuditEntry), count(session, Budget), len(open_alerts(session)))
    result = runner.invoke(args=["year", "close", "106"])
    assert result.exit_code == 2 and "--accept-all" in result.output and "--proposals FILE" in result.output
    result = runner.invoke(args=["year", "close", "106", "--accept-all", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 would be changed; 2 open alerts would be resolved" in result.output and "nothing written" in result.output
    amounts = tmp_path / "amounts.json"
    amounts.write_text(json.dumps({code_of(session, YILAN): "100000"}), encoding="utf-8")
    assert runner.invoke(args=["year", "close", "106", "--proposals", str(amounts), "--dry-run"]).exit_code == 0
    session.expire_all()
    assert (count(session, AuditEntry), count(session, Budget), len(open_alerts(session))) == before
    assert not plan_years.is_closed(session, 106) and available_107(session, YILAN) == D(300_000)


def test_proposals_file_edits_rows_and_refuses_what_it_cannot(december, runner, session, tmp_path):
    yilan, yunlin = code_of(session, YILAN), code_of(session, YUNLIN)
    amounts = tmp_path / "amounts.json"

    def close_with(values: dict):
        amounts.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
        return runner.invoke(args=["year", "close", "106", "--proposals", str(amounts)])

    result = close_with({yilan: "600000", yunlin: "-1", "999": "5"})
    assert result.exit_code == 1 and "計畫編號「999」" in result.output  # a code that names no proposal, by name
    result = close_with({yilan: "550000.5", yunlin: "abc"})
    assert result.exit_code == 1
    assert f"{yilan} {YILAN}：保留數 550,000.5 千元超過可支用預算數 550,000 千元" in result.output
    assert f"{yunlin} {YUNLIN}：保留數須為數字" in result.output
    result = close_with({yunlin: "-3"})
    assert result.exit_code == 1 and "不可為負數" in result.output
    session.expire_all()
    assert not plan_years.is_closed(session, 106)
    assert session.scalar(sa.select(sa.func.count()).where(AuditEntry.action.like("year.%"))) == 0
    # the officer keeps less than proposed for 宜蘭 and some for 雲林 (whose 107 budget is made); rows left out keep
    # their proposal
    result = close_with({yilan: "100,000.5", yunlin: 0})
    assert result.exit_code == 0, result.output
    assert available_107(session, YILAN) == D("400000.5")
    assert available_107(session, YUNLIN) is None


def test_a_missing_december_must_be_typed(december, runner, session, tmp_path):
    add_budget(session, HSINCHU, 80_000)
    add_month(session, HSINCHU, 11, 60_000, 50_000)  # reported to November only
    session.commit()
    hsinchu = code_of(session, HSINCHU)
    result = runner.invoke(args=["year", "close", "106", "--format", "json", "--dry-run"])
    row = next(p for p in json.loads(result.output)["proposals"] if p["code"] == hsinchu)
    assert row["executed"] is None and row["proposed"] is None and row["available"] == "80000"
    result = runner.invoke(args=["year", "close", "106", "--accept-all"])
    assert result.exit_code == 1 and f"{hsinchu} {HSINCHU}：12 月無執行數字" in result.output
    assert not plan_years.is_closed(session, 106)
    amounts = tmp_path / "amounts.json"
    amounts.write_text(json.dumps({hsinchu: "30000"}), encoding="utf-8")
    result = runner.invoke(args=["year", "close", "106", "--proposals", str(amounts)])
    assert result.exit_code == 0, result.output
    assert available_107(session, HSINCHU) == D(30_000) and available_107(session, YILAN) == D(420_000)
    created = session.scalars(sa.select(Budget).where(Budget.year_roc == 107,
                                                      Budget.project_id == project_id(session, HSINCHU))).one()
    assert (created.original, created.supplementary, created.carried_over, created.is_synthetic) == (0, 0, 30_000, False)


def test_a_year_without_a_plan_is_refused(seeded, runner):
    result = runner.invoke(args=["year", "close", "105", "--accept-all"])
    assert result.exit_code == 1 and "沒有民國 105 年度的施政計畫" in result.output


# --- reports of a closed year ----------------------------------------------------------------------

def test_reports_of_a_closed_year_are_refused_on_the_month(december, make_user, runner, session):
    make_user("pm", "project_manager", "檢察")
    make_user("rev", "reviewer")
    config = december.config
    pm = session.scalars(sa.select(User).where(User.name == "pm")).one()
    boai = session.get(Project, project_id(session, BOAI))
    progress.record_report(session, boai, 106, 9, [], D("45.5"), "設計審查延宕", "增派人力趕辦", pm,
                           audit.Who("pm", pm.id), date(2017, 10, 5), config=config)
    session.commit()
    assert runner.invoke(args=["year", "close", "106", "--accept-all"]).exit_code == 0
    session.expire_all()
    boai = session.get(Project, boai.id)
    with pytest.raises(ProgressRefused) as refused:
        progress.record_report(session, boai, 106, 10, [], D(50), "設計審查延宕", "增派人力趕辦", pm,
                               audit.Who("pm", pm.id), date(2017, 11, 5), config=config)
    assert CLOSED in refused.value.errors[(None, "month")]
    session.rollback()
    rev = session.scalars(sa.select(User).where(User.name == "rev")).one()
    for action in (review.approve, review.return_report):
        with pytest.raises(ProgressRefused) as refused:
            action(session, session.get(Project, boai.id), 106, 9, None, "請補件", audit.Who("rev", rev.id), config)
        assert CLOSED in refused.value.errors[(None, "month")]
        session.rollback()
    assert [r.state for r in session.scalars(sa.select(ProgressReport))] == ["submitted"]


# --- the page --------------------------------------------------------------------------------------

def test_officer_closes_106_on_the_page(december, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    yilan, yunlin = project_id(session, YILAN), project_id(session, YUNLIN)
    page = client.get("/years/106/close")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "可支用預算數" in html and "12月執行數" in html and code_of(session, YILAN) in html
    assert f'name="amount-{yilan}"' in html and 'value="120000"' in html and "430,000" in html

    # bad rows are named, each on its row, and nothing is written
    token = csrf_token(html)
    response = client.post("/years/106/close", data={"csrf_token": token, f"amount-{yilan}": "600000",
                                                     f"amount-{yunlin}": "-1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "保留數 600,000 千元超過可支用預算數 550,000 千元" in html and "不可為負數" in html
    assert 'value="600000"' in html  # what was typed stays in the form
    response = client.post("/years/106/close", data={"csrf_token": token, f"amount-{yilan}": "十萬",
                                                     f"amount-{yunlin}": "0"})
    assert response.status_code == 400 and "保留數須為數字" in response.get_data(as_text=True)
    assert not plan_years.is_closed(session, 106) and available_107(session, YILAN) == D(300_000)
    # without the CSRF token nothing happens
    assert client.post("/years/106/close", data={f"amount-{yilan}": "1"}).status_code == 400

    response = client.post("/years/106/close", data={"csrf_token": token, f"amount-{yilan}": "110,000",
                                                     f"amount-{yunlin}": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert available_107(session, YILAN) == D(410_000)
    session.expire_all()
    assert session.get(Plan, 106).closed_by == "officer"
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "year.close")).one()
    assert entry.actor == "officer" and entry.user_id is not None
    assert {a.resolved_reason for a in session.scalars(sa.select(Alert))} == {"年度結束"}
    html = client.get("/years/106/close").get_data(as_text=True)
    assert "已辦理民國 106 年度年度結束" in html  # the flash
    assert "本年度已由 officer 於" in html and "110,000" in html and 'name="amount-' not in html
    # closing again is refused, and the page says so
    response = client.post("/years/106/close", data={"csrf_token": csrf_token(html), f"amount-{yilan}": "1"})
    assert response.status_code == 409 and "不能再辦理一次" in response.get_data(as_text=True)

    # an upload for 106 is refused on the page, naming the year
    upload_page = client.get("/ledger/import").get_data(as_text=True)
    response = client.post("/ledger/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(upload_page),
        "file": (io.BytesIO(csv_bytes([MONTH_HEADER, [YILAN, 106, 12, "資本門", "550,000", "450,000", 0, 0]])),
                 "month.csv")})
    assert response.status_code == 400 and CLOSED in response.get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("project_manager", 403), ("leadership", 403), ("reviewer", 403),
                                          ("admin", 200), ("budget_officer", 200)])
def test_only_budget_officers_and_admins_close_a_year(december, make_user, auth, client, session, role, status):
    make_user("someone", role, "檢察" if role == "project_manager" else None)
    auth.login("someone")
    assert client.get("/years/106/close").status_code == status
    if status == 403:
        page = client.get("/").get_data(as_text=True)
        response = client.post("/years/106/close", data={"csrf_token": csrf_token(page)})
        assert response.status_code == 403
        assert not plan_years.is_closed(session, 106)


def test_page_of_a_year_without_a_plan_is_404(seeded, make_user, auth, client):
    make_user("officer", "budget_officer")
    auth.login("officer")
    response = client.get("/years/105/close")
    assert response.status_code == 404


def test_the_close_reads_in_words_on_the_audit_viewer(december, make_user, auth, client, runner):
    assert runner.invoke(args=["year", "close", "106", "--accept-all"]).exit_code == 0
    make_user("admin", "admin")
    auth.login("admin")
    html = client.get("/admin/audit?action=year.").get_data(as_text=True)
    assert "辦理年度結束" in html and "年度結束轉列以前年度保留數" in html
    assert re.search(r"以前年度保留數：0 → 120,?000", html), html[:3000]


def test_the_api_counts_the_carry_over_in_107s_available_budget(december, runner, client, make_user, session):
    from tracker import db
    from tracker.services import accounts

    assert runner.invoke(args=["year", "close", "106", "--accept-all"]).exit_code == 0
    make_user("reader", "leadership")
    with db.new_session(december) as s:
        token, _ = accounts.issue_token(s, "reader", audit.CLI, 90)
        s.commit()
    body = client.get("/api/v1/execution?year=107", headers={"Authorization": f"Bearer {token}"}).get_json()
    rows = {row["project_id"]: row for row in body["rows"]}
    assert body["year"] == 107
    assert rows[project_id(session, YILAN)]["available_budget"] == 420_000  # 原預算 300,000 + 保留 120,000
    # the programme's whole life: each year's budget and 執行數, and life-to-date totals that count the carried
    # 120,000 once (原 + 追加 of each year: 550,000 + 300,000)
    life = client.get(f"/api/v1/programmes/{project_id(session, YILAN)}",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    budgets = {(b["year"], b["kind"]): b for b in life["budgets"]}
    assert budgets[(106, "capital")]["available_budget"] == 550_000 and budgets[(106, "capital")]["executed"] == 430_000
    assert budgets[(107, "capital")]["carried_over"] == 120_000 and budgets[(107, "capital")]["available_budget"] == 420_000
    assert life["life_to_date"]["capital"] == {"budget": 850_000, "executed": 430_000}
    assert [e["year"] for e in life["entries"]] == [106] and life["entries"][0]["closed"] is True
