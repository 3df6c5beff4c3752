"""The KPI board: actuals entered by budget officers and admins, lights in each KPI's direction."""
from __future__ import annotations

import sqlalchemy as sa

from conftest import csrf_token
from tracker.models import AuditEntry, KpiActual


def board_row(html: str, code: str) -> str:
    return html.split(f'id="kpi-{code}"')[1].split("</tr>")[0]


def test_officer_enters_actuals_and_sees_lights(seeded, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    page = client.get("/kpis").get_data(as_text=True)
    assert page.count('<tr id="kpi-') == 16 and 'name="value"' in page
    assert client.post("/kpis/四-1/actual?year=106", data={"value": "49.5", "csrf_token": csrf_token(page)}).status_code == 302
    assert client.post("/kpis/一-1/actual?year=106", data={"value": "3,500", "csrf_token": csrf_token(page)}).status_code == 302
    html = client.get("/kpis?year=106").get_data(as_text=True)
    assert 'aria-label="綠燈"' in board_row(html, "四-1")   # 49.5 days, at most 52
    assert 'aria-label="紅燈"' in board_row(html, "一-1")   # 3,500 people, at least 3,800
    assert "3,500" in board_row(html, "一-1")
    assert session.scalar(sa.select(sa.func.count()).select_from(KpiActual)) == 2
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "kpi.actual", AuditEntry.entity_id == "一-1")).one()
    assert entry.changes["106年實際值"] == [None, "3500"]
    # 107's plan is not loaded: its targets are unknown, so the board says so instead of showing 106's
    other_year = client.get("/kpis?year=107").get_data(as_text=True)
    assert 'id="kpi-' not in other_year and "107 年度計畫尚未載入" in other_year


def test_kpi_actual_refusals(seeded, make_user, auth, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    page = client.get("/kpis").get_data(as_text=True)
    assert 'name="value"' not in page
    assert client.post("/kpis/一-1/actual", data={"value": "1", "csrf_token": csrf_token(page)}).status_code == 403
    auth.logout()
    make_user("officer", "budget_officer")
    auth.login("officer")
    page = client.get("/kpis").get_data(as_text=True)
    client.post("/kpis/一-1/actual", data={"value": "many", "csrf_token": csrf_token(page)})
    assert "實際值須為數字" in client.get("/kpis").get_data(as_text=True)
    assert client.post("/kpis/十-9/actual", data={"value": "1", "csrf_token": csrf_token(page)}).status_code == 404
    assert client.post("/kpis/一-1/actual", data={"value": "1"}).status_code == 400  # no CSRF token
    assert session.scalar(sa.select(sa.func.count()).select_from(KpiActual)) == 0
