"""The scheduler: its jobs, one scheduler per database, and every run recorded (failures too)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from conftest import ROOT, TEST_PG_URL
from tracker import db, scheduler
from tracker.models import Alert, JobRun
from tracker.services import jobs
from tracker.services.scans import run_scan
from tracker.web import admin

AUGUST_END = date(2017, 8, 31)
TAIPEI = ZoneInfo("Asia/Taipei")


def unresolved(session) -> list[tuple[str, int]]:
    session.expire_all()
    return [(a.kind, a.project_id) for a in session.scalars(
        sa.select(Alert).where(Alert.status != "resolved").order_by(Alert.id))]


def runs(session) -> list[JobRun]:
    session.expire_all()
    return list(session.scalars(sa.select(JobRun).order_by(JobRun.id)))


def cron_fields(trigger: CronTrigger) -> dict[str, str]:
    return {f.name: str(f) for f in trigger.fields if not f.is_default}


def test_jobs_have_ids_settings_and_taipei_cron_fields(app):
    app.config["MAIL_ENABLED"] = True
    built = scheduler.build_scheduler(app, BackgroundScheduler)
    found = {job.id: job for job in built.get_jobs()}
    assert set(found) == {"slip-scan-daily", "execution-scan-nightly", "progress-reminder-monthly",
                          "progress-escalation-monthly", "email-digest-daily"}
    for job in found.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
        assert str(job.trigger.timezone) == "Asia/Taipei"
    assert cron_fields(found["slip-scan-daily"].trigger) == {"hour": "7", "minute": "0"}
    assert cron_fields(found["execution-scan-nightly"].trigger) == {"hour": "1", "minute": "30"}
    assert cron_fields(found["progress-reminder-monthly"].trigger) == {"day": "1", "hour": "8", "minute": "0"}
    assert cron_fields(found["progress-escalation-monthly"].trigger) == {"day": "11", "hour": "8", "minute": "0"}
    assert cron_fields(found["email-digest-daily"].trigger) == {"hour": "7", "minute": "30"}
    # 07:00 in Taipei is 23:00 UTC the day before.
    first = found["slip-scan-daily"].trigger.get_next_fire_time(None, datetime(2017, 9, 1, 0, 0, tzinfo=TAIPEI))
    assert first == datetime(2017, 9, 1, 7, 0, tzinfo=TAIPEI)
    assert first.astimezone(ZoneInfo("UTC")).hour == 23


def test_job_table_without_mail_has_no_digest(app):
    table = scheduler.job_table(app)
    assert [row["id"] for row in table] == ["slip-scan-daily", "execution-scan-nightly", "progress-reminder-monthly",
                                            "progress-escalation-monthly"]
    now = datetime.now(TAIPEI)
    for row in table:
        assert row["coalesce"] is True and row["max_instances"] == 1 and row["misfire_grace_time"] == 3600
        assert now < row["next_run"] <= now + timedelta(days=32)
    reminder = next(r for r in table if r["id"] == "progress-reminder-monthly")
    assert reminder["next_run"].day == 1 and reminder["next_run"].hour == 8 and reminder["when"] == "每月 1 日 08:00"


def test_a_second_scheduler_refuses_to_start(app):
    with scheduler.lock_for(app) as held:
        assert held.is_held
        with pytest.raises(scheduler.SchedulerLocked) as refused:
            scheduler.run_blocking(app)
        message = str(refused.value)
        assert message.startswith("another tracker scheduler is already running for ")
        assert held.database in message
        if not TEST_PG_URL:
            assert str(db.get_engine(app).url.database) in message
            assert held.path.name == "tracker.db.scheduler.lock"
        assert scheduler.start_background(app) is None
    # Once released, a scheduler can take over.
    with scheduler.lock_for(app) as again:
        assert again.is_held


SCHEDULER_PROCESS = """
import logging, sys
from tracker import create_app, scheduler
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "k", "DATA_DIR": sys.argv[2]})
scheduler.run_blocking(app)
print("stopped cleanly")
"""


def test_a_scheduler_process_holds_the_lock_until_sigterm(app, tmp_path):
    url = app.config["DATABASE_URL"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-c", SCHEDULER_PROCESS, url, str(tmp_path / "other")], cwd=ROOT,
                                   env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
    try:
        deadline = time.monotonic() + 30
        while "slip-scan-daily" not in log_path.read_text():  # until the other process runs, its job table logged
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the scheduler process did not start"
            time.sleep(0.1)
        with pytest.raises(scheduler.SchedulerLocked, match="another tracker scheduler is already running for"):
            scheduler.run_blocking(app)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    err = log_path.read_text()
    assert process.returncode == 0, err
    assert "stopped cleanly" in out
    assert "stopping the scheduler" in err
    with scheduler.lock_for(app) as again:
        assert again.is_held


@pytest.mark.skipif(not TEST_PG_URL, reason="PostgreSQL only (TRACKER_TEST_DATABASE_URL)")
def test_postgres_advisory_lock_is_held_by_another_connection(app):
    first = scheduler.SchedulerLock(TEST_PG_URL)
    first.acquire()
    try:
        engine = db.make_engine(TEST_PG_URL)
        with engine.connect() as other:
            holders = other.execute(sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND classid::bigint * 4294967296 + objid::bigint = :k"), {"k": scheduler.ADVISORY_LOCK_KEY}).all()
            assert len(holders) == 1
            assert holders[0].pid != other.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            # A different session cannot take it either.
            assert other.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                 {"k": scheduler.ADVISORY_LOCK_KEY}).scalar() is False
        engine.dispose()
        with pytest.raises(scheduler.SchedulerLocked, match="another tracker scheduler is already running for postgresql"):
            scheduler.SchedulerLock(TEST_PG_URL).acquire()
    finally:
        first.release()
    second = scheduler.SchedulerLock(TEST_PG_URL)
    second.acquire()
    second.release()


def test_in_memory_sqlite_takes_no_lock():
    lock = scheduler.SchedulerLock("sqlite://")
    lock.acquire()
    assert not lock.is_held and lock.path is None
    lock.release()


def test_background_scheduler_runs_jobs_and_releases_its_lock(app):
    started = scheduler.start_background(app)
    try:
        assert started is not None and started.running
        assert app.extensions["tracker.scheduler"] is started
        assert scheduler.start_background(app) is None  # the same database: refused while this one runs
        # Make the nightly execution scan due now; it runs in the scheduler's thread.
        started.get_job("execution-scan-nightly").modify(next_run_time=datetime.now(TAIPEI))
        deadline = time.monotonic() + 15
        with db.new_session(app) as s:
            while time.monotonic() < deadline:
                done = [r for r in runs(s) if r.status != "running"]
                if done:
                    break
                time.sleep(0.05)
            assert [(r.job_id, r.status) for r in done] == [("execution-scan-nightly", "succeeded")]
            assert done[0].details["as_of"] == datetime.now(TAIPEI).date().isoformat()
        assert started.running
    finally:
        scheduler.stop_background(app)
    assert not started.running
    with scheduler.lock_for(app) as again:  # released at stop
        assert again.is_held


def test_a_job_run_is_recorded_with_its_counts(lagging, session):
    run = jobs.run_named(lagging, "execution-scan-nightly", AUGUST_END)
    assert (run.status, run.opened, run.updated, run.resolved) == ("succeeded", 2, 0, 0)
    [stored] = runs(session)
    assert stored.job_id == "execution-scan-nightly" and stored.status == "succeeded"
    assert (stored.opened, stored.updated, stored.resolved) == (2, 0, 0)
    assert stored.details == {"scan": "execution", "as_of": "2017-08-31"}
    assert stored.finished_at is not None and stored.error is None
    assert len(unresolved(session)) == 2


def test_a_failing_job_is_recorded_and_leaves_no_half_written_alerts(lagging, session):
    def breaks_after_scanning(s):
        result = run_scan("execution", s, AUGUST_END, lagging.config, jobs.SCHEDULER)
        assert result.opened == 2  # the alerts were flushed ...
        raise RuntimeError("月報資料庫連線中斷")  # ... then the job fails before it is done

    run = jobs.run_job(lagging, "execution-scan-nightly", breaks_after_scanning)  # does not raise
    assert run.status == "failed"
    [failed] = runs(session)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.error.splitlines()[0] == "RuntimeError: 月報資料庫連線中斷"
    assert (failed.opened, failed.updated, failed.resolved) == (0, 0, 0)
    assert unresolved(session) == []  # rolled back: no alert half-written

    again = jobs.run_named(lagging, "execution-scan-nightly", AUGUST_END)
    assert (again.status, again.opened) == ("succeeded", 2)
    assert [r.status for r in runs(session)] == ["failed", "succeeded"]
    assert len(unresolved(session)) == 2


def test_the_scheduler_entry_point_never_raises(app, session):
    scheduler.scheduled_run(app, "no-such-job")  # logged, not raised
    assert runs(session) == []


def test_a_restarted_scheduler_opens_no_duplicate_alerts(lagging, session):
    for _ in range(2):  # two scheduler processes, one after the other, running the nightly scan
        built = scheduler.build_scheduler(lagging, BackgroundScheduler)
        job = built.get_job("execution-scan-nightly")
        job.func(*job.args, today=AUGUST_END)
    first, second = runs(session)
    assert (first.status, first.opened) == ("succeeded", 2)
    assert (second.status, second.opened, second.updated, second.resolved) == ("succeeded", 0, 0, 0)
    kinds = unresolved(session)
    assert len(kinds) == len(set(kinds)) == 2


def test_the_schedule_scan_job_runs(seeded, session):
    run = jobs.run_named(seeded, "slip-scan-daily", date(2017, 9, 11))
    assert run.status == "succeeded", run.error
    assert run.details == {"scan": "schedule", "as_of": "2017-09-11"}
    again = jobs.run_named(seeded, "slip-scan-daily", date(2017, 9, 11))
    assert (again.status, again.opened) == ("succeeded", 0)


def test_admin_page_shows_runs_to_admins_only(lagging, make_user, auth, client):
    jobs.run_named(lagging, "execution-scan-nightly", AUGUST_END)
    jobs.run_job(lagging, "progress-reminder-monthly", lambda s: 1 / 0)
    if "admin" not in lagging.blueprints:  # until the app factory registers it
        lagging.register_blueprint(admin.bp)
    make_user("root", "admin")
    make_user("minister", "leadership")

    auth.login("minister")
    assert client.get("/admin/jobs").status_code == 403
    auth.logout()

    auth.login("root")
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for job_id in ("slip-scan-daily", "execution-scan-nightly", "progress-reminder-monthly",
                   "progress-escalation-monthly"):
        assert job_id in html
    assert "email-digest-daily" not in html  # mail is off: no digest is scheduled
    assert "成功" in html and "失敗" in html and "ZeroDivisionError: division by zero" in html
    assert "基準日 106年8月31日" in html
