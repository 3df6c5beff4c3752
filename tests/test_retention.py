"""The monthly prune: login attempts, job runs and sessions past their retention go; the audit log stays."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tracker import db
from tracker.models import AuditEntry, JobRun, LoginAttempt, UserSession
from tracker.services import jobs, retention

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def fill(session, user_id: int) -> None:
    """Rows on both sides of each retention (90, 400 and 30 days by default)."""
    for n, name in ((91, "old-attempt"), (89, "recent-attempt")):
        session.add(LoginAttempt(username=name, remote_addr="10.0.0.1", at=days_ago(n), succeeded=False))
    for n, status, job_id in ((401, "succeeded", "old-finished"), (401, "failed", "old-failed"),
                              (401, "running", "old-running"), (399, "succeeded", "recent-finished")):
        session.add(JobRun(job_id=job_id, status=status, started_at=days_ago(n), finished_at=days_ago(n)))
    for created, ended, sid in ((40, 35, "ended-long-ago"), (40, None, "created-long-ago"),
                                (20, 5, "ended-recently"), (1, None, "current")):
        session.add(UserSession(sid_hash=sid.ljust(64, "0"), user_id=user_id, created_at=days_ago(created),
                                ended_at=days_ago(ended) if ended is not None else None))
    session.add(AuditEntry(at=days_ago(3650), actor="cli", action="user.create", entity_type="user", entity_id="1"))
    session.commit()


def left(session) -> dict[str, set[str]]:
    session.expire_all()
    return {
        "attempts": set(session.scalars(sa.select(LoginAttempt.username))),
        "runs": set(session.scalars(sa.select(JobRun.job_id))),
        "sessions": {sid.rstrip("0") for sid in session.scalars(sa.select(UserSession.sid_hash))},
        "audit": set(session.scalars(sa.select(AuditEntry.action))),
    }


def test_prune_deletes_old_rows_and_keeps_recent_ones_running_runs_and_the_audit_log(app, session, make_user):
    user = make_user("chen", "leadership")
    fill(session, user.id)
    pruned = retention.prune(session, app.config, NOW)
    session.commit()
    assert (pruned.login_attempts, pruned.job_runs, pruned.user_sessions) == (1, 2, 2)
    remaining = left(session)
    assert remaining["attempts"] == {"recent-attempt"}
    assert remaining["runs"] == {"old-running", "recent-finished"}  # a running run is never deleted
    assert remaining["sessions"] == {"ended-recently", "current"}
    assert "user.create" in remaining["audit"]  # ten years old, kept
    assert retention.prune(session, app.config, NOW).details()["pruned"] == {
        "login_attempts": 0, "job_runs": 0, "user_sessions": 0}  # running it again deletes nothing more


def test_retention_comes_from_configuration(app, session, make_user):
    user = make_user("chen", "leadership")
    fill(session, user.id)
    app.config.update(LOGIN_ATTEMPT_RETENTION_DAYS=30, JOB_RUN_RETENTION_DAYS=1000, SESSION_RETENTION_DAYS=50)
    pruned = retention.prune(session, app.config, NOW)
    session.commit()
    assert (pruned.login_attempts, pruned.job_runs, pruned.user_sessions) == (2, 0, 0)
    assert pruned.days == {"login_attempts": 30, "job_runs": 1000, "user_sessions": 50}


def test_the_monthly_job_reports_its_counts(app, session, make_user, auth, client):
    make_user("root", "admin")
    with db.new_session(app) as s:
        # Relative to the real clock: the job prunes as of now.
        s.add(LoginAttempt(username="x", remote_addr="10.0.0.1", at=datetime.now(timezone.utc) - timedelta(days=91),
                           succeeded=False))
        s.add(JobRun(job_id="slip-scan-daily", status="succeeded",
                     started_at=datetime.now(timezone.utc) - timedelta(days=500)))
        s.commit()
    run = jobs.run_named(app, "retention-prune-monthly")
    assert run.status == "succeeded", run.error
    assert run.details == {"pruned": {"login_attempts": 1, "job_runs": 1, "user_sessions": 0},
                           "retention_days": {"login_attempts": 90, "job_runs": 400, "user_sessions": 30}}
    line = jobs.describe(run)
    assert line == "刪除逾 90 日的登入紀錄 1 筆、逾 400 日的排程執行紀錄 1 筆、逾 30 日的已結束工作階段 0 筆（稽核紀錄永久保存）"
    assert jobs.JOB_LABELS["retention-prune-monthly"] == "過期紀錄清理"
    assert [r.job_id for r in session.scalars(sa.select(JobRun))] == ["retention-prune-monthly"]  # itself kept
    auth.login("root")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "逾 90 日的登入紀錄 1 筆" in html and "每月 1 日 03:00" in html
