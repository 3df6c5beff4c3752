"""The alerts page at scale: worst first, a hundred a page, every alert reachable."""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from tracker.models import Alert, Project
from tracker.services.alerts import Finding, reconcile


def test_alerts_are_listed_worst_first_a_hundred_a_page(seeded, session, make_user, auth, client):
    projects = list(session.scalars(sa.select(Project.id).order_by(Project.id).limit(60)))
    findings = [Finding("LAGGING", "critical", pid, f"嚴重警示 {i:03d}") for i, pid in enumerate(projects)]
    findings += [Finding("BACK_LOADED", "info", pid, f"提醒警示 {i:03d}") for i, pid in enumerate(projects)]
    findings += [Finding("FORECAST_SLIP", "warning", pid, f"注意警示 {i:03d}") for i, pid in enumerate(projects[:30])]
    reconcile(session, ("LAGGING", "BACK_LOADED", "FORECAST_SLIP"), findings, date(2017, 10, 1))
    session.commit()
    assert session.scalar(sa.select(sa.func.count(Alert.id))) == 150
    make_user("officer", "budget_officer")
    auth.login("officer")

    first = client.get("/alerts").get_data(as_text=True)
    second = client.get("/alerts?page=2").get_data(as_text=True)
    shown = re.findall(r"(嚴重|注意|提醒)警示 \d{3}", first) + re.findall(r"(嚴重|注意|提醒)警示 \d{3}", second)
    assert shown == ["嚴重"] * 60 + ["注意"] * 30 + ["提醒"] * 60  # every alert once, worst first
    assert "共 150 筆（第 1／2 頁）" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "page=1" in second and 'rel="next"' not in second
    assert client.get("/alerts?page=abc").status_code == 200  # a bad page number shows the first page
