"""Execution alerts open, update and resolve as the month-end figures change; people act on them."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from conftest import csrf_token
from conftest import YILAN, project_id
from tracker import db
from tracker.models import Alert, AuditEntry, MonthEnd
from tracker.services import accounts, audit
from tracker.services.execution_scan import month_end_before, scan_execution


def alerts_by(session, status=None):
    session.expire_all()
    query = sa.select(Alert).order_by(Alert.id)
    if status:
        query = query.where(Alert.status == status)
    return [(a.kind, a.project.name, a.status) for a in session.scalars(query)]


def scan(session, day=date(2017, 8, 31)):
    result = scan_execution(session, day)
    session.commit()
    return result


def set_august(session, name, **values):
    row = session.scalars(sa.select(MonthEnd).where(MonthEnd.project_id == project_id(session, name),
                                                    MonthEnd.month == 8)).one()
    for key, value in values.items():
        setattr(row, key, D(value))
    session.commit()


def test_month_end_before():
    assert month_end_before(date(2017, 8, 31)) == (2017, 8)
    assert month_end_before(date(2017, 9, 5)) == (2017, 8)
    assert month_end_before(date(2017, 1, 10)) == (2016, 12)


def test_scan_opens_the_alerts_the_rules_call_for(lagging, session):
    result = scan(session)
    assert (result.opened, result.updated, result.resolved) == (2, 0, 0)
    assert alerts_by(session) == [("LOW_EXECUTION", YILAN, "open"), ("BELOW_TARGET", YILAN, "open")]
    low = session.scalars(sa.select(Alert).where(Alert.kind == "LOW_EXECUTION")).one()
    assert "60.00%" in low.message and "NT$120,000 千元" in low.message and low.severity == "critical"
    below = session.scalars(sa.select(Alert).where(Alert.kind == "BELOW_TARGET")).one()
    assert "預估年底執行率 56.97%" in below.message and "每月尚需執行 NT$" in below.message
    assert session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "scan.execution")).one()


def test_rescan_is_idempotent(lagging, session):
    scan(session)
    again = scan(session)
    assert (again.opened, again.updated, again.resolved) == (0, 0, 0)
    later_in_month = scan(session, date(2017, 9, 20))  # still judged on the August month-end
    assert later_in_month.opened == 0
    assert len(alerts_by(session)) == 2


def test_changed_figures_update_then_resolve(lagging, session):
    scan(session)
    set_august(session, YILAN, paid=160_000)  # 63.33%, still low: updated, not reopened
    result = scan(session)
    assert (result.opened, result.updated) == (0, 2)
    low = session.scalars(sa.select(Alert).where(Alert.kind == "LOW_EXECUTION")).one()
    assert "63.33%" in low.message and low.status == "open"
    set_august(session, YILAN, paid=270_000)  # (270 + 20 + 10) ÷ 300 = 100%
    result = scan(session)
    assert result.resolved == 2
    assert alerts_by(session, "resolved") == [("LOW_EXECUTION", YILAN, "resolved"), ("BELOW_TARGET", YILAN, "resolved")]
    assert all(a.resolved_at is not None and a.open_key is None for a in session.scalars(sa.select(Alert)))
    set_august(session, YILAN, paid=150_000)  # lags again: a new alert, the old one stays resolved
    assert scan(session).opened == 2
    assert len(alerts_by(session, "open")) == 2 and len(alerts_by(session)) == 4


def test_low_execution_needs_both_conditions(lagging, session):
    set_august(session, YILAN, allocated=150_000, paid=100_000, payables=0, savings=0)  # 66.7% but only 50,000 unexecuted
    scan(session)
    assert [k for k, _, _ in alerts_by(session)] == ["BELOW_TARGET"]


def test_thresholds_come_from_configuration(lagging, session, app, runner):
    app.config["LOW_EXECUTION_RATE_PCT"] = D(50)
    app.config["EXECUTION_TARGET_PCT"] = D(50)
    result = runner.invoke(args=["scan", "--as-of", "2017-08-31"])
    assert result.exit_code == 0 and "execution scan as of 2017-08-31: 0 opened" in result.output
    app.config["LOW_EXECUTION_RATE_PCT"] = D(80)
    assert "1 opened" in runner.invoke(args=["scan", "--as-of", "2017-08-31"]).output


def test_late_figures_keep_the_last_judgement_and_a_year_without_figures_resolves(lagging, session):
    scan(session)
    result = scan(session, date(2017, 10, 31))  # October's month-end not imported yet: August still stands
    assert (result.opened, result.resolved) == (0, 0)
    assert "106年8月底" in session.scalars(sa.select(Alert).where(Alert.kind == "LOW_EXECUTION")).one().message
    result = scan(session, date(2018, 2, 28))  # 107 has no figures at all
    assert result.resolved == 2


def test_acknowledged_alert_stays_acknowledged_until_resolved(lagging, session, make_user):
    scan(session)
    officer = session.merge(make_user("officer", "budget_officer"))
    from tracker.services.alerts import acknowledge

    alert = session.scalars(sa.select(Alert).where(Alert.kind == "LOW_EXECUTION")).one()
    acknowledge(session, alert.id, officer, "已請廠商加速估驗", accounts.who_of(officer))
    session.commit()
    set_august(session, YILAN, paid=155_000)
    scan(session)
    assert ("LOW_EXECUTION", YILAN, "acknowledged") in alerts_by(session)
    set_august(session, YILAN, paid=270_000)
    scan(session)
    assert ("LOW_EXECUTION", YILAN, "resolved") in alerts_by(session)


# --- pages and API ---------------------------------------------------------

def test_officer_acknowledges_on_the_alerts_page(lagging, session, make_user, auth, client):
    scan(session)
    make_user("officer", "budget_officer")
    auth.login("officer")
    page = client.get("/alerts").get_data(as_text=True)
    assert "分配預算執行率偏低" in page and YILAN in page
    alert_id = session.scalar(sa.select(Alert.id).where(Alert.kind == "LOW_EXECUTION"))
    empty = client.post(f"/alerts/{alert_id}/acknowledge", data={"comment": " ", "csrf_token": csrf_token(page)})
    assert empty.status_code == 302
    assert "請填寫處理說明" in client.get("/alerts").get_data(as_text=True)
    ok = client.post(f"/alerts/{alert_id}/acknowledge", data={"comment": "已函請機關檢討", "csrf_token": csrf_token(page)})
    assert ok.status_code == 302
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert (alert.status, alert.acknowledgement, alert.acknowledged_by.name) == ("acknowledged", "已函請機關檢討", "officer")
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "alert.acknowledge")).one()
    assert entry.changes["status"] == ["open", "acknowledged"]
    assert "已函請機關檢討" in client.get("/alerts?status=acknowledged").get_data(as_text=True)


def test_acknowledge_refusals(lagging, session, make_user, auth, client):
    scan(session)
    alert_id = session.scalar(sa.select(Alert.id).where(Alert.kind == "LOW_EXECUTION"))
    make_user("lead", "leadership")
    make_user("pm_other", "project_manager", "檢察")
    make_user("pm_own", "project_manager", "矯正")
    for name, expected in (("lead", 403), ("pm_other", 403), ("pm_own", 302)):
        auth.login(name)
        page = client.get("/alerts").get_data(as_text=True)
        assert ('name="comment"' in page) is (expected == 302)
        response = client.post(f"/alerts/{alert_id}/acknowledge",
                               data={"comment": "看過", "csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
        assert response.status_code == expected, name
        auth.logout()
    auth.login("pm_own")
    no_csrf = client.post(f"/alerts/{alert_id}/acknowledge", data={"comment": "x"})
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_data(as_text=True)


def test_project_managers_see_their_own_systems_alerts(lagging, session, make_user, auth, client):
    scan(session)
    make_user("pm", "project_manager", "檢察")
    auth.login("pm")
    assert YILAN not in client.get("/alerts").get_data(as_text=True)


def test_alerts_api(lagging, session, make_user, client):
    scan(session)
    make_user("officer", "budget_officer")
    with db.new_session(lagging) as s:
        token, _ = accounts.issue_token(s, "officer", audit.CLI, 90)
        s.commit()
    get = lambda q: client.get(f"/api/v1/alerts{q}", headers={"Authorization": f"Bearer {token}"})
    body = get("?status=open").get_json()
    assert {a["kind"] for a in body["alerts"]} == {"LOW_EXECUTION", "BELOW_TARGET"}
    first = body["alerts"][0]
    assert set(first) >= {"id", "kind", "severity", "project_id", "milestone_id", "message", "opened_at",
                          "resolved_at", "status"}
    assert first["project_id"] == project_id(session, YILAN) and first["milestone_id"] is None
    assert first["opened_at"].endswith("+00:00")
    assert [a["kind"] for a in get("?kind=LOW_EXECUTION").get_json()["alerts"]] == ["LOW_EXECUTION"]
    assert get("?status=resolved").get_json()["alerts"] == []
    assert get("?status=closed").status_code == 400
    import jsonschema
    document = get("").get_json() and client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).get_json()
    jsonschema.Draft202012Validator({"$ref": "#/components/schemas/AlertList", "components": document["components"]}).validate(body)


# --- demo data -------------------------------------------------------------

def test_demo_shows_rates_and_alerts_marked_synthetic(seeded, runner, session, make_user, auth, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "capital projects" in result.output
    again = runner.invoke(args=["demo"])  # replaces, never doubles
    assert again.exit_code == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd)) == 12 * int(result.output.split(": ")[1].split()[0])
    scan_result = runner.invoke(args=["scan", "--as-of", "2017-08-31"])
    assert scan_result.exit_code == 0
    make_user("officer", "budget_officer")
    auth.login("officer")
    assert "模擬資料" in client.get("/execution").get_data(as_text=True)
    alerts_page = client.get("/alerts").get_data(as_text=True)
    assert "【模擬資料】" in alerts_page and "並非法務部的實際預算" in alerts_page


def test_demo_never_mixes_with_imported_figures(lagging, runner, session):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "已有匯入的實際數字" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd).where(MonthEnd.is_synthetic.is_(True))) == 0
