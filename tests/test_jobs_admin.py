"""/admin/jobs: schedules in words, the last run of each job, and 「立即執行」 (admins only, CSRF, one run at a time)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date

import sqlalchemy as sa

from conftest import YILAN, csrf_token, project_id
from tracker.models import Alert, AuditEntry, JobRun, utcnow
from tracker.services import jobs

AUGUST_END = date(2017, 8, 31)


def runs(session) -> list[JobRun]:
    session.expire_all()
    return list(session.scalars(sa.select(JobRun).order_by(JobRun.id)))


def alert_statuses(session) -> dict[tuple[str, int], str]:
    session.expire_all()
    return {(a.kind, a.project_id): a.status for a in session.scalars(sa.select(Alert))}


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_jobs_page_shows_schedules_in_words_and_the_last_run(lagging, make_user, auth, client):
    jobs.run_named(lagging, "execution-scan-nightly", AUGUST_END)
    make_user("root", "admin")
    auth.login("root")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "cron[" not in html and "觸發條件" not in html  # no raw trigger
    for words in ("每日 07:00", "每日 01:30", "每月 1 日 08:00", "每月 11 日 08:00", "每月 1 日 03:00"):
        assert words in html
    assert "Asia/Taipei" in html
    row = html.split('id="job-execution-scan-nightly"')[1].split("</tr>")[0]
    assert "成功" in row and "立即執行" in row  # its last run, and the button
    never = html.split('id="job-slip-scan-daily"')[1].split("</tr>")[0]
    assert "成功" not in never and "—" in never
    assert "過期紀錄清理" in html and "稽核紀錄永久保存" in html
    assert "登入紀錄 90 日" in html and "排程執行紀錄 400 日" in html


def test_run_now_by_an_admin_runs_the_scan_and_records_who(lagging, session, make_user, auth, client):
    jobs.run_named(lagging, "execution-scan-nightly", AUGUST_END)  # the nightly scan opened two alerts
    yilan = project_id(session, YILAN)
    assert alert_statuses(session)[("LOW_EXECUTION", yilan)] == "open"
    make_user("root", "admin")
    auth.login("root")
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))

    page = client.post("/admin/jobs/execution-scan-nightly/run", data={"csrf_token": token}, follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Run as of today: the year has no figures, so the scan resolves the 2017 alerts, as a scheduled scan would.
    assert "已執行「預算執行率檢核」：成功；警示新增 0、更新 0、解除 2 筆。" in html
    assert set(alert_statuses(session).values()) == {"resolved"}
    scheduled, now = runs(session)
    assert scheduled.started_by == "scheduler"
    assert (now.job_id, now.status, now.started_by, now.resolved) == ("execution-scan-nightly", "succeeded", "root", 2)
    assert (now.host, now.pid) == (socket.gethostname(), os.getpid())
    assert now.details["as_of"] == jobs.today_in(lagging.config).isoformat()
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "job.run_now")).one()
    assert (entry.actor, entry.entity_type, entry.entity_id) == ("root", "job", "execution-scan-nightly")
    assert entry.changes["run_id"] == now.id and entry.changes["status"] == "succeeded"
    assert "root" in html.split("最近執行紀錄")[1]  # the run lists who started it


def test_run_now_reports_a_failure(seeded, session, make_user, auth, client, monkeypatch):
    def broken(app, session, today, who):
        raise RuntimeError("郵件伺服器無回應")

    monkeypatch.setitem(jobs.JOB_BODIES, "progress-reminder-monthly", broken)
    make_user("root", "admin")
    auth.login("root")
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    html = client.post("/admin/jobs/progress-reminder-monthly/run", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "已執行「進度填報提醒」：失敗（RuntimeError: 郵件伺服器無回應）。" in html
    [run] = runs(session)
    assert (run.status, run.started_by) == ("failed", "root")


def test_run_now_refuses_a_job_a_live_process_is_running(seeded, session, make_user, auth, client):
    session.add(JobRun(job_id="slip-scan-daily", status="running", started_at=utcnow(), started_by="scheduler",
                       host=socket.gethostname(), pid=os.getpid()))
    session.commit()
    make_user("root", "admin")
    auth.login("root")
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    html = client.post("/admin/jobs/slip-scan-daily/run", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "「進度落後檢核」正在執行中" in html and "未再執行" in html
    assert [r.status for r in runs(session)] == ["running"]  # no second run
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "job.run_now")) == 0


def test_run_now_goes_ahead_when_the_running_process_is_dead(app, session, make_user, auth, client):
    session.add(JobRun(job_id="execution-scan-nightly", status="running", started_at=utcnow(), started_by="cli",
                       host=socket.gethostname(), pid=dead_pid()))
    session.commit()
    make_user("root", "admin")
    auth.login("root")
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    html = client.post("/admin/jobs/execution-scan-nightly/run", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "已執行「預算執行率檢核」：成功" in html
    assert [(r.status, r.started_by) for r in runs(session)] == [("running", "cli"), ("succeeded", "root")]


def test_run_now_is_for_admins_with_a_csrf_token(seeded, session, make_user, auth, client):
    make_user("root", "admin")
    make_user("minister", "leadership")
    make_user("officer", "budget_officer")
    for name in ("minister", "officer"):
        auth.login(name)
        token = csrf_token(client.get("/").get_data(as_text=True))
        assert client.get("/admin/jobs").status_code == 403
        assert client.post("/admin/jobs/slip-scan-daily/run", data={"csrf_token": token}).status_code == 403
        auth.logout()
    auth.login("root")
    refused = client.post("/admin/jobs/slip-scan-daily/run", data={})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    assert client.post("/admin/jobs/no-such-job/run", data={"csrf_token": token}).status_code == 404
    # The digest is not scheduled while mail is off: no button, and no run.
    assert client.post("/admin/jobs/email-digest-daily/run", data={"csrf_token": token}).status_code == 404
    assert client.get("/admin/jobs/slip-scan-daily/run").status_code == 405
    assert runs(session) == []
