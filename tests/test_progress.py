"""Milestone progress: the monthly form, the API with optimistic locking, re-planning, and the schedule scan."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from conftest import csrf_token, project_id
from tracker import db
from tracker.models import Alert, AuditEntry, Milestone, PlannedCurve, ProgressReport
from tracker.services import accounts, audit
from tracker.services.schedule_scan import scan_schedule

BOAI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
TAICHUNG = "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案"


def milestones_of(session, name) -> list[Milestone]:
    return list(session.scalars(sa.select(Milestone).where(Milestone.project_id == project_id(session, name))
                                .order_by(Milestone.seq)))


def token_for(app, name):
    with db.new_session(app) as s:
        token, _ = accounts.issue_token(s, name, audit.CLI, 90)
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def open_alerts(session, kind):
    session.expire_all()
    return set(session.execute(sa.select(Alert.project_id, Alert.milestone_id)
                               .where(Alert.kind == kind, Alert.status != "resolved")).all())


# --- the schedule scan on the seed ------------------------------------------------------

def test_seed_scan_overdue_is_exactly_what_was_due_then_done_resolves(seeded, session, make_user, client):
    as_of = date(2017, 10, 1)
    scan_schedule(session, as_of)
    session.commit()
    due = set(session.execute(sa.select(Milestone.project_id, Milestone.id)
                              .where(Milestone.planned_finish_on < as_of)).all())
    assert len(due) == 4  # 博一 ×2, 彰化 履約期滿, 嘉義 105 年度
    assert open_alerts(session, "OVERDUE") == due
    again = scan_schedule(session, as_of)
    session.commit()
    assert again.opened == 0 and again.resolved == 0
    # the manager marks one done through the API; the rescan resolves its alert
    make_user("pm", "project_manager", "檢察")
    first = milestones_of(session, BOAI)[0]
    response = client.patch(f"/api/v1/milestones/{first.id}", headers=token_for(seeded, "pm"), json={
        "version": first.version, "status": "done", "actual_start": "2017-01-03", "actual_finish": "2017-03-30"})
    assert response.status_code == 200, response.get_json()
    result = scan_schedule(session, as_of)
    session.commit()
    assert result.resolved >= 1
    assert open_alerts(session, "OVERDUE") == due - {(first.project_id, first.id)}


def test_seed_scan_flags_unreported_projects_after_the_10th(seeded, session):
    scan_schedule(session, date(2017, 10, 11))
    session.commit()
    unreported = {p for p, _ in open_alerts(session, "NOT_REPORTED")}
    assert project_id(session, BOAI) in unreported and project_id(session, TAICHUNG) in unreported
    assert project_id(session, "執行肅貪工作") not in unreported  # no milestones: nothing to report


# --- API ----------------------------------------------------------------------------------

@pytest.fixture
def pm_api(seeded, make_user, client):
    make_user("pm", "project_manager", "檢察")
    headers = token_for(seeded, "pm")
    return lambda method, path, **kw: client.open(path, method=method, headers=headers, **kw)


def test_patch_saves_and_raises_the_version(pm_api, session):
    m = milestones_of(session, BOAI)[2]
    response = pm_api("PATCH", f"/api/v1/milestones/{m.id}", json={
        "version": 1, "status": "in_progress", "percent_complete": 35.5, "actual_start": "106/7/3"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["version"], body["status"], body["percent_complete"], body["actual_start"]) == (2, "in_progress", 35.5, "2017-07-03")
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "milestone.update")).one()
    assert entry.actor == "pm" and entry.changes["percent_complete"] == ["0.00", "35.5"]
    assert pm_api("GET", f"/api/v1/milestones/{m.id}").get_json()["version"] == 2


@pytest.mark.parametrize("body, field", [
    ({"version": 1, "percent_complete": 101}, "percent_complete"),
    ({"version": 1, "percent_complete": -1}, "percent_complete"),
    ({"version": 1, "percent_complete": "lots"}, "percent_complete"),
    ({"version": 1, "status": "finished"}, "status"),
    ({"version": 1, "status": "done", "actual_start": "2017-07-01"}, "actual_finish"),
    ({"version": 1, "status": "in_progress", "actual_start": "2017-07-10", "actual_finish": "2017-07-01"}, "actual_finish"),
    ({"version": 1, "actual_start": "2017-02-30"}, "actual_start"),
    ({"version": 1, "actual_start": "2999-01-01"}, "actual_start"),
    ({"status": "in_progress"}, "version"),
    ({"version": 1, "planned_finish": "2018-01-01"}, "planned_finish"),
    ({"version": 1}, "body"),
])
def test_patch_refusals_are_field_by_field(pm_api, session, body, field):
    m = milestones_of(session, BOAI)[2]
    response = pm_api("PATCH", f"/api/v1/milestones/{m.id}", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    session.expire_all()
    assert session.get(Milestone, m.id).version == 1


def test_patch_not_json_and_missing(pm_api):
    assert pm_api("PATCH", "/api/v1/milestones/1", data="x", content_type="text/plain").status_code == 400
    assert pm_api("PATCH", "/api/v1/milestones/999999", json={"version": 1, "percent_complete": 1}).status_code == 404


def test_patch_on_a_stale_version_is_409_with_the_newer_values(pm_api, session):
    m = milestones_of(session, BOAI)[2]
    assert pm_api("PATCH", f"/api/v1/milestones/{m.id}", json={"version": 1, "percent_complete": 10, "status": "in_progress",
                                                                 "actual_start": "2017-07-01"}).status_code == 200
    stale = pm_api("PATCH", f"/api/v1/milestones/{m.id}", json={"version": 1, "percent_complete": 99})
    assert stale.status_code == 409
    assert stale.get_json()["current"]["percent_complete"] == 10 and stale.get_json()["current"]["version"] == 2


def test_patch_permissions(seeded, session, make_user, client):
    m = milestones_of(session, BOAI)[2]
    make_user("pm_corr", "project_manager", "矯正")
    make_user("lead", "leadership")
    for name in ("pm_corr", "lead"):
        response = client.patch(f"/api/v1/milestones/{m.id}", headers=token_for(seeded, name),
                                json={"version": 1, "percent_complete": 5})
        assert response.status_code == 403, name
    assert client.patch(f"/api/v1/milestones/{m.id}", json={"version": 1, "percent_complete": 5}).status_code == 401
    # a joint project: a manager of 行政執行 may write to 臺中
    make_user("pm_enf", "project_manager", "行政執行")
    taichung = milestones_of(session, TAICHUNG)[0]
    ok = client.patch(f"/api/v1/milestones/{taichung.id}", headers=token_for(seeded, "pm_enf"),
                      json={"version": 1, "status": "in_progress", "percent_complete": 5, "actual_start": "2017-02-01"})
    assert ok.status_code == 200


def test_two_updates_of_the_same_version_one_wins(seeded, session, make_user):
    make_user("pm", "project_manager", "檢察")
    headers = token_for(seeded, "pm")
    m = milestones_of(session, BOAI)[2]
    barrier = threading.Barrier(2)
    results = []

    def send(percent):
        client = seeded.test_client()
        barrier.wait()
        response = client.patch(f"/api/v1/milestones/{m.id}", headers=headers, json={
            "version": 1, "status": "in_progress", "actual_start": "2017-07-01", "percent_complete": percent})
        results.append(response.status_code)

    threads = [threading.Thread(target=send, args=(p,)) for p in (30, 60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    session.expire_all()
    assert session.get(Milestone, m.id).version == 2
    changes = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "milestone.update",
                                                          AuditEntry.entity_id == str(m.id))).all()
    assert len(changes) == 1


# --- the monthly form -----------------------------------------------------------------------

@pytest.fixture
def pm(seeded, make_user, auth, client):
    make_user("pm", "project_manager", "檢察")
    auth.login("pm")
    return client


def form_data(client, url, **overrides):
    """The form as the page renders it, with some fields changed."""
    import re

    html = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(html)}
    for name, value in re.findall(r'name="(milestones-\d+-(?:milestone_id|version))"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, value in re.findall(r'id="(milestones-\d+-(?:percent_complete|actual_start|actual_finish))"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, options in re.findall(r'<select[^>]*id="(milestones-\d+-status)"[^>]*>(.*?)</select>', html, re.S):
        data[name] = re.search(r'<option selected value="([^"]+)"', options).group(1)
    data.update({"planned_percent": "50", "actual_percent": "50"})
    data.update(overrides)
    return data


def test_monthly_report_saves_a_revision_and_the_milestones(pm, session):
    boai = project_id(session, BOAI)
    url = f"/projects/{boai}/progress?month=106-08"
    data = form_data(pm, url, **{"milestones-0-status": "done", "milestones-0-percent_complete": "100",
                                 "milestones-0-actual_start": "106/1/5", "milestones-0-actual_finish": "106年3月31日",
                                 "planned_percent": "60", "actual_percent": "45",
                                 "delay_reason": "設計審查延宕", "remedy": "增派人力趕辦"})
    response = pm.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    first = milestones_of(session, BOAI)[0]
    session.refresh(first)
    assert (first.status, first.actual_finish_on, first.version) == ("done", date(2017, 3, 31), 2)
    report = session.scalars(sa.select(ProgressReport)).one()
    assert (report.year_roc, report.month, report.revision, report.actual_percent) == (106, 8, 1, D(45))
    assert report.milestones[str(first.id)]["status"] == "done"
    page = pm.get(f"/projects/{boai}").get_data(as_text=True)
    assert "106年8月" in page and "設計審查延宕" in page and "已送出" in page
    assert "未開始" in page and "已完成" in page and "not_started" not in page  # the change log in people's words
    # a correction is a second revision; the first stays as reported, and the two compare
    data = form_data(pm, url, planned_percent="60", actual_percent="55", delay_reason="設計審查延宕", remedy="增派人力趕辦")
    assert pm.post(url, data=data).status_code == 302
    revisions = session.scalars(sa.select(ProgressReport).order_by(ProgressReport.revision)).all()
    assert [(r.revision, r.actual_percent) for r in revisions] == [(1, D(45)), (2, D(55))]
    compare = pm.get(f"/projects/{boai}/reports/106-8?a=1&b=2").get_data(as_text=True)
    assert "實際進度" in compare and "actual_percent" not in compare and "45" in compare and "55" in compare


def test_form_errors_appear_on_their_fields_and_nothing_is_saved(pm, session):
    boai = project_id(session, BOAI)
    url = f"/projects/{boai}/progress?month=106-08"
    data = form_data(pm, url, **{"milestones-0-actual_start": "106/13/5", "milestones-1-percent_complete": "120",
                                 "planned_percent": "60", "actual_percent": "45"})
    response = pm.post(url, data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "日期不存在" in html or "無法辨識" in html
    assert "須介於 0 與 100 之間" in html
    data = form_data(pm, url, **{"milestones-0-status": "done", "milestones-0-percent_complete": "100",
                                 "milestones-0-actual_start": "106/1/5", "planned_percent": "60", "actual_percent": "45"})
    response = pm.post(url, data=data)  # done without a finish date, and behind without reason or remedy
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "已完成的里程碑須填實際完成日" in html and "請填寫落後原因" in html and "請填寫因應對策" in html
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0
    assert all(m.version == 1 for m in milestones_of(session, BOAI))


def test_form_on_a_stale_version_shows_the_newer_values(pm, seeded, session, client):
    boai = project_id(session, BOAI)
    url = f"/projects/{boai}/progress?month=106-08"
    data = form_data(pm, url, **{"milestones-2-status": "in_progress", "milestones-2-percent_complete": "20",
                                 "milestones-2-actual_start": "106/7/1"})
    third = milestones_of(session, BOAI)[2]
    third.status, third.percent_complete, third.actual_start_on = "in_progress", D(33), date(2017, 7, 2)
    session.commit()  # someone else saved first
    response = pm.post(url, data=data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "已由他人更新" in html and 'value="33.00"' in html
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0


def test_form_refusals(seeded, make_user, auth, client, session):
    boai = project_id(session, BOAI)
    make_user("lead", "leadership")
    make_user("pm_corr", "project_manager", "矯正")
    for name in ("lead", "pm_corr"):
        auth.login(name)
        assert client.get(f"/projects/{boai}/progress").status_code == 403
        auth.logout()
    make_user("pm", "project_manager", "檢察")
    auth.login("pm")
    assert client.post(f"/projects/{boai}/progress?month=106-08", data={"planned_percent": "1"}).status_code == 400
    future = client.post(f"/projects/{boai}/progress?month=200-01",
                         data=form_data(client, f"/projects/{boai}/progress?month=106-08"))
    assert future.status_code == 400


# --- re-planning and curves ---------------------------------------------------------------

def test_replan_keeps_the_baseline_and_shows_the_slip(pm, session):
    m = milestones_of(session, BOAI)[2]
    url = f"/milestones/{m.id}/replan"
    html = pm.get(url).get_data(as_text=True)
    no_reason = pm.post(url, data={"csrf_token": csrf_token(html), "version": "1", "planned_start": "106/7/1",
                                   "planned_finish": "107/3/31", "reason": ""})
    assert no_reason.status_code == 400 and "請說明重新規劃的原因" in no_reason.get_data(as_text=True)
    backwards = pm.post(url, data={"csrf_token": csrf_token(html), "version": "1", "planned_start": "106/7/1",
                                   "planned_finish": "106/6/1", "reason": "x"})
    assert backwards.status_code == 400 and "不可早於" in backwards.get_data(as_text=True)
    ok = pm.post(url, data={"csrf_token": csrf_token(html), "version": "1", "planned_start": "106/7/1",
                            "planned_finish": "107/3/31", "reason": "上級審核退回修正"})
    assert ok.status_code == 302
    session.expire_all()
    m = session.get(Milestone, m.id)
    assert (m.planned_finish_on, m.baseline_finish_on) == (date(2018, 3, 31), date(2017, 12, 31))
    page = pm.get(f"/projects/{m.project_id}").get_data(as_text=True)
    assert "延後 90 天" in page and "上級審核退回修正" in page
    stale = pm.post(url, data={"csrf_token": csrf_token(html), "version": "1", "planned_start": "106/7/1",
                               "planned_finish": "107/6/30", "reason": "again"})
    assert stale.status_code == 409
    forged = pm.post(url, data={"csrf_token": csrf_token(html), "version": "abc", "planned_start": "106/7/1",
                                "planned_finish": "107/6/30", "reason": "again"})
    assert forged.status_code == 400 and "Traceback" not in forged.get_data(as_text=True)


def test_curve_lag_and_back_loaded_warning(pm, session):
    boai = project_id(session, BOAI)
    url = f"/projects/{boai}/curve?year=106"
    html = pm.get(url).get_data(as_text=True)
    decreasing = pm.post(url, data={"csrf_token": csrf_token(html), "m1": "10", "m2": "5"})
    assert decreasing.status_code == 400 and "不可低於前一個月" in decreasing.get_data(as_text=True)
    back_loaded = {"csrf_token": csrf_token(html), **{f"m{i}": str(i) for i in range(1, 10)}, "m10": "40", "m11": "70", "m12": "100"}
    assert pm.post(url, data=back_loaded).status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(PlannedCurve)) == 12
    scan_schedule(session, date(2017, 6, 15))
    session.commit()
    assert (boai, None) in open_alerts(session, "BACK_LOADED")
    # a report is judged against the plan at its own month's end: 5% against a planned 9% in September is
    # no lag, even judged at the end of October; October's 5% against a planned 40% is
    session.add(ProgressReport(project_id=boai, year_roc=106, month=9, planned_percent=D(9), actual_percent=D(5),
                               milestones={}))
    session.commit()
    scan_schedule(session, date(2017, 10, 31))
    session.commit()
    assert (boai, None) not in open_alerts(session, "LAGGING")
    session.add(ProgressReport(project_id=boai, year_roc=106, month=10, planned_percent=D(40), actual_percent=D(5),
                               milestones={}))
    session.commit()
    scan_schedule(session, date(2017, 10, 31))
    session.commit()
    assert (boai, None) in open_alerts(session, "LAGGING")


def test_portfolio_lights_roll_up(seeded, make_user, auth, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    html = client.get("/?as_of=2017-10-01&system=prosecution").get_data(as_text=True)
    assert 'class="light light-red" role="img" aria-label="紅燈"></span> 檢察' in html
    html = client.get("/?as_of=2016-12-01").get_data(as_text=True)
    assert "light-red" in html  # 嘉義's 105 step is already late
    assert client.get("/?as_of=nonsense").status_code == 400


def test_unknown_status_in_the_form_is_refused_in_words(pm, session):
    boai = project_id(session, BOAI)
    url = f"/projects/{boai}/progress?month=106-08"
    response = pm.post(url, data=form_data(pm, url, **{"milestones-0-status": "finished"}))
    assert response.status_code == 400 and "未知的狀態「finished」" in response.get_data(as_text=True)


def test_the_report_month_and_the_form_defaults_come_from_the_service(seeded, session):
    from tracker.services import portfolio, progress

    project = portfolio.get_project(session, project_id(session, BOAI))
    assert progress.default_report_month(project, date(2017, 3, 15)) == (106, 2)
    assert progress.default_report_month(project, date(2017, 1, 5)) == (105, 12)
    assert progress.default_report_month(project, date(2300, 1, 5)) == (project.last_year_roc, 12)
    planned = progress.report_defaults(session, project, 106, 6)
    assert planned.actual_percent is None and planned.planned_percent is not None  # from the milestones' spans
    session.add(PlannedCurve(project_id=project.id, year_roc=106, month=6, planned_percent=D("42.5")))
    session.flush()
    assert progress.report_defaults(session, project, 106, 6).planned_percent == D("42.5")
    assert progress.planned_curve_points(session, project, 106) == {6: D("42.5")}
