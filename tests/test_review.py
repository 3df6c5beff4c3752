"""The monthly control loop (管考): a report is submitted, returned, revised and approved; the rules of a
report; alerts and lights follow at once from the one judgement; the reporting date."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from conftest import csrf_token, new_browser, project_id, token_for
from tracker.models import Alert, AuditEntry, PlannedCurve, ProgressReport, Project
from tracker.domain.slippage import Light
from tracker.services import audit, reporting_date

BOAI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
YILAN = "法務部矯正署宜蘭監獄擴建計畫"
#: A 檢察 programme whose plan is a planned curve only (no milestones): its light is its report's alone.
SHILIN = "臺灣士林地方法院檢察署擴建辦公廳舍暨第一、二辦公大樓整修工程計畫"


def bearer(app, name):
    return {"Authorization": f"Bearer {token_for(app, name)}"}


@pytest.fixture
def loop(seeded, make_user, session):
    """The seed, a manager and a reviewer of 檢察, a reviewer of 矯正, leadership, a budget officer, an admin;
    the reporting date 2017-10-15."""
    make_user("pm", "project_manager", "檢察")
    make_user("rev", "reviewer", "檢察")
    make_user("rev_corr", "reviewer", "矯正")
    make_user("lead", "leadership")
    make_user("budget", "budget_officer")
    make_user("root", "admin")
    reporting_date.set_reporting_date(session, date(2017, 10, 15), audit.CLI)
    session.commit()
    return {name: bearer(seeded, name) for name in ("pm", "rev", "rev_corr", "lead", "budget", "root")}


def submit(client, headers, pid, month="106-09", **body):
    return client.post(f"/api/v1/projects/{pid}/reports/{month}", headers=headers, json=body)


def test_a_month_goes_submitted_returned_submitted_approved(loop, client, session):
    boai = project_id(session, BOAI)
    first = submit(client, loop["pm"], boai, actual_percent=90, planned_percent=5)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["state"] == "submitted" and body["revision"] == 1
    assert body["planned_percent"] != 5  # a typed planned percent is not stored: the plan's is
    stored = session.scalars(sa.select(ProgressReport)).one()
    assert stored.planned_percent is not None and stored.planned_percent != D(5)
    url = f"/api/v1/projects/{boai}/reports/106-09"
    # returning needs a comment; then it is returned with it
    assert client.post(url + "/return", headers=loop["rev"], json={}).get_json()["fields"] == {"comment": "退回須填寫審核意見"}
    returned = client.post(url + "/return", headers=loop["rev"], json={"comment": "請補施工照片"})
    assert returned.status_code == 200 and returned.get_json()["state"] == "returned"
    assert returned.get_json()["reviewer_comment"] == "請補施工照片"
    # nothing to approve while it is returned; the manager revises (2017-09 is the same month as 106-09)
    assert client.post(url + "/approve", headers=loop["rev"]).status_code == 409
    second = submit(client, loop["pm"], boai, month="2017-09", actual_percent=91)
    assert second.status_code == 201 and second.get_json()["revision"] == 2
    # approving an older revision is a conflict; the latest is approved
    assert client.post(url + "/approve", headers=loop["rev"], json={"revision": 1}).status_code == 409
    approved = client.post(url + "/approve", headers=loop["rev"], json={"revision": 2})
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    listing = client.get(url, headers=loop["lead"]).get_json()
    assert listing["state"] == "approved"
    assert [(r["revision"], r["state"]) for r in listing["revisions"]] == [(2, "approved"), (1, "returned")]
    actions = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("progress.%"))
                              .order_by(AuditEntry.id)).all()
    assert actions == ["progress.report", "progress.return", "progress.report", "progress.approve"]


def test_an_approved_month_is_frozen_and_a_correction_needs_a_reason_and_a_new_approval(loop, client, session):
    boai = project_id(session, BOAI)
    url = f"/api/v1/projects/{boai}/reports/106-09"
    assert submit(client, loop["pm"], boai, actual_percent=90).status_code == 201
    assert client.post(url + "/approve", headers=loop["rev"]).status_code == 200
    refused = submit(client, loop["pm"], boai, actual_percent=92)
    assert refused.status_code == 400 and "correction_reason" in refused.get_json()["fields"]
    corrected = submit(client, loop["pm"], boai, actual_percent=92, correction_reason="會計數字更正")
    assert corrected.status_code == 201 and corrected.get_json()["state"] == "submitted"
    listing = client.get(url, headers=loop["pm"]).get_json()
    # the approved revision stays visible beside the correction waiting for approval
    assert [(r["revision"], r["state"]) for r in listing["revisions"]] == [(2, "submitted"), (1, "approved")]
    assert listing["revisions"][0]["correction_reason"] == "會計數字更正"


@pytest.mark.parametrize("who, allowed", [("rev", True), ("root", True), ("rev_corr", False), ("lead", False),
                                          ("budget", False), ("pm", False)])
def test_who_may_review(loop, client, session, who, allowed):
    boai = project_id(session, BOAI)
    assert submit(client, loop["pm"], boai, actual_percent=90).status_code == 201
    response = client.post(f"/api/v1/projects/{boai}/reports/106-09/approve", headers=loop[who])
    assert response.status_code == (200 if allowed else 403), response.get_json()


def test_nobody_approves_their_own_report(loop, client, session):
    boai = project_id(session, BOAI)
    assert submit(client, loop["root"], boai, actual_percent=90).status_code == 201  # an admin may report …
    response = client.post(f"/api/v1/projects/{boai}/reports/106-09/approve", headers=loop["root"])
    assert response.status_code == 403 and "自己" in response.get_json()["error"]  # … but not approve it


def test_only_those_who_may_write_the_programme_report(loop, client, session):
    yilan = project_id(session, YILAN)
    assert submit(client, loop["pm"], yilan, actual_percent=10).status_code == 403
    assert submit(client, loop["rev"], project_id(session, BOAI), actual_percent=10).status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0


def test_cumulative_actual_does_not_fall_without_a_correction_reason(loop, client, session):
    boai = project_id(session, BOAI)
    assert submit(client, loop["pm"], boai, month="106-08", actual_percent=95).status_code == 201
    falling = submit(client, loop["pm"], boai, actual_percent=12, delay_reason="x", remedy="y")
    assert falling.status_code == 400
    assert "106年8月" in falling.get_json()["fields"]["actual_percent"]
    assert submit(client, loop["pm"], boai, actual_percent=12, delay_reason="x", remedy="y",
                  correction_reason="前月誤植").status_code == 201


def test_a_milestone_percent_does_not_fall_without_a_correction_reason(loop, client, session):
    boai = project_id(session, BOAI)
    programme = session.get(Project, boai)
    m = next(m for m in programme.milestones if m.status == "not_started")
    m.status, m.percent_complete, m.actual_start_on = "in_progress", D(40), date(2017, 7, 1)
    session.commit()
    falling = submit(client, loop["pm"], boai, actual_percent=95, milestones=[
        {"id": m.id, "version": m.version, "percent_complete": 10}])
    assert falling.status_code == 400
    assert "完成百分比不可低於" in falling.get_json()["fields"]["milestones[0].percent_complete"]
    stale = submit(client, loop["pm"], boai, actual_percent=95, milestones=[
        {"id": m.id, "version": m.version + 5, "percent_complete": 50}])
    assert stale.status_code == 409 and stale.get_json()["current"][0]["id"] == m.id


def test_months_outside_the_years_or_after_the_reporting_date_are_refused(loop, client, session):
    boai = project_id(session, BOAI)
    first = session.get(Project, boai).first_year_roc
    before = submit(client, loop["pm"], boai, month=f"{first - 1}-03", actual_percent=1)
    assert before.status_code == 400 and "不在計畫期程" in before.get_json()["fields"]["month"]
    later = submit(client, loop["pm"], boai, month="106-11", actual_percent=1)  # the reporting date is 106-10-15
    assert later.status_code == 400 and "評核基準日" in later.get_json()["fields"]["month"]
    assert submit(client, loop["pm"], boai, month="13-99", actual_percent=1).status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0


def test_reasons_are_required_when_behind_the_plan(loop, client, session):
    boai = project_id(session, BOAI)
    session.add(PlannedCurve(project_id=boai, year_roc=106, month=9, planned_percent=D(30)))
    session.commit()
    behind = submit(client, loop["pm"], boai, actual_percent=5)
    assert behind.status_code == 400 and set(behind.get_json()["fields"]) == {"delay_reason", "remedy"}


def portfolio_row(html: str, pid: int) -> str:
    """The portfolio's table row of a programme."""
    rows = [row for row in re.findall(r"<tr[ >].*?</tr>", html, re.S) if f'href="/projects/{pid}"' in row]
    assert len(rows) == 1
    return rows[0]


def gantt_light(session, pid: int):
    """The light of a programme's row on the Gantt chart as of the reporting date."""
    from tracker.services.gantt import gantt_data
    session.expire_all()
    data = gantt_data(session, reporting_date.stored(session))
    return next(row.light for row in data.rows if row.kind == "project" and row.project_id == pid)


def open_alerts(session, pid, kind):
    session.expire_all()
    return session.scalars(sa.select(Alert).where(Alert.project_id == pid, Alert.kind == kind,
                                                  Alert.status != "resolved")).all()


def test_a_report_behind_the_curve_is_red_everywhere_at_once_and_a_better_one_resolves_it(loop, client, session, auth):
    """The seed, a planned curve at 30% and a report at 5%: red on the portfolio, the Gantt and the API, and
    its LAGGING alert open, with no scan run; a report at 35% resolves it, again with no scan."""
    boai = project_id(session, SHILIN)
    session.add(PlannedCurve(project_id=boai, year_roc=106, month=9, planned_percent=D(30)))
    session.commit()
    assert submit(client, loop["pm"], boai, actual_percent=5, delay_reason="地質改良延宕",
                  remedy="增加工作面").status_code == 201
    lagging = [a for a in open_alerts(session, boai, "LAGGING") if a.milestone_id is None]  # the programme's own
    assert len(lagging) == 1 and "106年9月" in lagging[0].message
    assert client.get(f"/api/v1/projects/{boai}", headers=loop["lead"]).get_json()["light"] == "red"
    auth.login("lead")
    assert "light-red" in portfolio_row(client.get("/?system=prosecution").get_data(as_text=True), boai)
    assert gantt_light(session, boai) is Light.RED
    # 35% is ahead of the plan: the alert is resolved and the light is not red, again without a scan
    assert submit(client, loop["pm"], boai, actual_percent=35).status_code == 201
    assert [a for a in open_alerts(session, boai, "LAGGING") if a.milestone_id is None] == []
    assert client.get(f"/api/v1/projects/{boai}", headers=loop["lead"]).get_json()["light"] == "green"
    assert "light-green" in portfolio_row(client.get("/?system=prosecution").get_data(as_text=True), boai)
    assert gantt_light(session, boai) is Light.GREEN


def test_submitting_resolves_the_not_reported_alert_at_once(loop, client, session):
    from tracker.services.schedule_scan import scan_schedule
    boai = project_id(session, BOAI)
    scan_schedule(session, date(2017, 10, 15))
    session.commit()
    assert any("9月進度尚未填報" in a.message for a in open_alerts(session, boai, "NOT_REPORTED"))
    assert submit(client, loop["pm"], boai, actual_percent=90).status_code == 201
    assert open_alerts(session, boai, "NOT_REPORTED") == []


def test_queues_and_header_counts_follow_the_state(loop, seeded, session):
    boai = project_id(session, BOAI)
    pm, _ = new_browser(seeded, "pm")
    rev, _ = new_browser(seeded, "rev")
    other, _ = new_browser(seeded, "rev_corr")
    page = pm.get(f"/projects/{boai}/progress?month=106-09").get_data(as_text=True)
    assert 'id="planned-percent"' in page and 'name="planned_percent"' not in page
    fields = dict(re.findall(r'name="(milestones-\d+-(?:milestone_id|version|percent_complete|actual_start|actual_finish))"[^>]*value="([^"]*)"', page))
    for name, options in re.findall(r'<select[^>]*name="(milestones-\d+-status)"[^>]*>(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option selected value="([^"]+)"', options).group(1)
    response = pm.post(f"/projects/{boai}/progress?month=106-09", data={
        **fields, "csrf_token": csrf_token(page), "actual_percent": "95", "delay_reason": "", "remedy": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    home = rev.get("/").get_data(as_text=True)
    assert re.search(r'href="/review"[^>]*>待審 <span class="count"[^>]*>1</span>', home)
    assert "待審" not in other.get("/").get_data(as_text=True).split("</nav>")[0] or \
        re.search(r'待審 <span class="count"[^>]*>0</span>', other.get("/").get_data(as_text=True))
    queue = rev.get("/review").get_data(as_text=True)
    assert BOAI in queue
    month = rev.get(f"/projects/{boai}/months/106-9").get_data(as_text=True)
    assert "已送出" in month and "核定" in month
    returned = rev.post(f"/projects/{boai}/months/106-9/return", data={
        "csrf_token": csrf_token(month), "revision": "1", "comment": "請補施工照片"})
    assert returned.status_code == 302
    home = pm.get("/").get_data(as_text=True)
    assert re.search(r'被退回 <span class="count"[^>]*>1</span>', home)
    assert "請補施工照片" in pm.get("/review").get_data(as_text=True)
    # the manager's own month page shows no review buttons
    assert "formaction" not in pm.get(f"/projects/{boai}/months/106-9").get_data(as_text=True)


def test_the_reporting_date_is_set_by_page_and_command(loop, seeded, session, runner):
    admin, _ = new_browser(seeded, "root")
    page = admin.get("/admin/reporting-date").get_data(as_text=True)
    assert "106年10月15日" in page
    saved = admin.post("/admin/reporting-date", data={"csrf_token": csrf_token(page), "day": "106/9/30"})
    assert saved.status_code == 302
    session.expire_all()
    assert reporting_date.stored(session) == date(2017, 9, 30)
    assert "評核基準日：106年9月30日" in admin.get("/").get_data(as_text=True)
    bad = admin.post("/admin/reporting-date", data={"csrf_token": csrf_token(page), "day": "106/13/40"})
    assert bad.status_code == 400
    lead, _ = new_browser(seeded, "lead")
    assert lead.get("/admin/reporting-date").status_code == 403
    assert runner.invoke(["reporting-date"]).output.startswith("2017-09-30")
    result = runner.invoke(["reporting-date", "2017-11-30"])
    assert result.exit_code == 0 and "2017-11-30" in result.output
    assert runner.invoke(["reporting-date", "not-a-date"]).exit_code != 0
    cleared = runner.invoke(["reporting-date", "--clear"])
    assert cleared.exit_code == 0 and "today in Asia/Taipei" in cleared.output
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "settings.reporting_date")) == 4  # the fixture's, the page's, two commands'


def test_a_reviewer_is_added_on_the_command_line(seeded, runner, session):
    result = runner.invoke(["users", "add", "kao", "--role", "reviewer", "--system", "檢察"],
                           input="a-long-password-1\n")
    assert result.exit_code == 0, result.output
    assert "reviewer" in result.output and "檢察" in result.output
    result = runner.invoke(["users", "add", "kao2", "--role", "reviewer"], input="a-long-password-1\n")
    assert result.exit_code == 0, result.output


def test_demo_sets_the_reporting_date_and_shows_alerts_at_once(seeded, runner, session):
    result = runner.invoke(["demo"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert reporting_date.stored(session) == date(2017, 12, 31)
    assert session.scalar(sa.select(sa.func.count()).select_from(Alert).where(Alert.status == "open")) > 0


def test_a_curve_change_needs_a_reason_and_moves_the_alert_at_once(loop, seeded, client, session):
    shilin = project_id(session, SHILIN)
    session.add(PlannedCurve(project_id=shilin, year_roc=106, month=9, planned_percent=D(10)))
    session.commit()
    assert submit(client, loop["pm"], shilin, actual_percent=5, delay_reason="a", remedy="b").status_code == 201
    assert [a for a in open_alerts(session, shilin, "LAGGING") if a.milestone_id is None] == []
    pm, _ = new_browser(seeded, "pm")
    url = f"/projects/{shilin}/curve?year=106"
    page = pm.get(url).get_data(as_text=True)
    refused = pm.post(url, data={"csrf_token": csrf_token(page), "m9": "40"})
    assert refused.status_code == 400 and "須說明原因" in refused.get_data(as_text=True)
    saved = pm.post(url, data={"csrf_token": csrf_token(page), "m9": "40", "reason": "核定修正計畫"})
    assert saved.status_code == 302
    # the re-planned curve puts September at 40%: the report at 5% now lags, with no scan run
    assert len([a for a in open_alerts(session, shilin, "LAGGING") if a.milestone_id is None]) == 1
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "curve.update")).one()
    assert entry.changes["reason"] == [None, "核定修正計畫"]


def test_a_milestone_update_over_the_api_rescans_at_once(loop, client, session):
    from tracker.services.schedule_scan import scan_schedule
    boai = project_id(session, BOAI)
    scan_schedule(session, date(2017, 10, 15))
    session.commit()
    overdue = open_alerts(session, boai, "OVERDUE")
    assert overdue
    m = session.get(type(session.get(Project, boai).milestones[0]), overdue[0].milestone_id)
    response = client.patch(f"/api/v1/milestones/{m.id}", headers=loop["pm"], json={
        "version": m.version, "status": "done", "actual_start": "2017-01-03", "actual_finish": "2017-03-30"})
    assert response.status_code == 200, response.get_json()
    assert m.id not in {a.milestone_id for a in open_alerts(session, boai, "OVERDUE")}


def test_the_execution_table_reads_as_of_the_reporting_date(seeded, runner, session, make_user, client):
    assert runner.invoke(["demo"]).exit_code == 0  # figures for every month of 106; the reporting date 106-12-31
    make_user("lead", "leadership")
    headers = bearer(seeded, "lead")
    assert client.get("/api/v1/execution", headers=headers).get_json()["as_of"] == "2017-12"
    assert runner.invoke(["reporting-date", "2017-09-30"]).exit_code == 0
    answer = client.get("/api/v1/execution", headers=headers).get_json()
    assert answer["as_of"] == "2017-09"  # not December's figures on a September reporting date
    assert all(row["figures_month"] == 9 for row in answer["rows"] if row["figures_month"] is not None)
    # a month asked for is shown as asked
    assert client.get("/api/v1/execution?as_of=106-11", headers=headers).get_json()["as_of"] == "2017-11"


def _png() -> bytes:
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _form_fields(page: str) -> dict:
    fields = dict(re.findall(r'name="(milestones-\d+-(?:milestone_id|version|percent_complete|actual_start|actual_finish))"[^>]*value="([^"]*)"', page))
    for name, options in re.findall(r'<select[^>]*name="(milestones-\d+-status)"[^>]*>(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option selected value="([^"]+)"', options).group(1)
    return {**fields, "csrf_token": csrf_token(page)}


def test_photos_come_with_the_report_and_a_bad_file_saves_nothing(loop, seeded, session):
    import io
    from tracker.models import ReportAttachment
    boai = project_id(session, BOAI)
    pm, _ = new_browser(seeded, "pm")
    url = f"/projects/{boai}/progress?month=106-09"
    page = pm.get(url).get_data(as_text=True)
    bad = pm.post(url, content_type="multipart/form-data", data={
        **_form_fields(page), "actual_percent": "95", "photos": [(io.BytesIO(b"MZ\x90\x00not a photo"), "工地.png")]})
    assert bad.status_code == 400 and "工地.png" in bad.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0
    good = pm.post(url, content_type="multipart/form-data", data={
        **_form_fields(page), "actual_percent": "95", "photos": [(io.BytesIO(_png()), "工地.png")]})
    assert good.status_code == 302, good.get_data(as_text=True)[-2000:]
    photo = session.scalars(sa.select(ReportAttachment)).one()
    assert (photo.revision, photo.content_type) == (1, "image/png")
    month = pm.get(f"/projects/{boai}/months/106-9").get_data(as_text=True)
    assert f"/attachments/{photo.id}/thumb" in month
    assert pm.get(f"/attachments/{photo.id}/thumb").status_code == 200
