"""The scheduler: its jobs, one scheduler per database, and every run recorded (failures too)."""
from __future__ import annotations

import os
import signal
import socket
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
from tracker.domain import labels
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
                          "progress-escalation-monthly", "retention-prune-monthly", "email-digest-daily"}
    for job in found.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
        assert str(job.trigger.timezone) == "Asia/Taipei"
    assert cron_fields(found["slip-scan-daily"].trigger) == {"hour": "7", "minute": "0"}
    assert cron_fields(found["execution-scan-nightly"].trigger) == {"hour": "1", "minute": "30"}
    assert cron_fields(found["progress-reminder-monthly"].trigger) == {"day": "1", "hour": "8", "minute": "0"}
    assert cron_fields(found["progress-escalation-monthly"].trigger) == {"day": "11", "hour": "8", "minute": "0"}
    assert cron_fields(found["email-digest-daily"].trigger) == {"hour": "7", "minute": "30"}
    assert cron_fields(found["retention-prune-monthly"].trigger) == {"day": "1", "hour": "3", "minute": "0"}
    # 07:00 in Taipei is 23:00 UTC the day before.
    first = found["slip-scan-daily"].trigger.get_next_fire_time(None, datetime(2017, 9, 1, 0, 0, tzinfo=TAIPEI))
    assert first == datetime(2017, 9, 1, 7, 0, tzinfo=TAIPEI)
    assert first.astimezone(ZoneInfo("UTC")).hour == 23


def test_job_table_without_mail_has_no_digest(app):
    table = scheduler.job_table(app)
    assert [row["id"] for row in table] == ["slip-scan-daily", "execution-scan-nightly", "progress-reminder-monthly",
                                            "progress-escalation-monthly", "retention-prune-monthly"]
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
from tracker import scheduler
from tracker.app import create_app
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
    # Started "at noon", when no job was missed, so only the job made due below runs whatever the clock says.
    started = scheduler.start_background(app, now=datetime.now(TAIPEI).replace(hour=12, minute=0))
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


# --- schedules in words ------------------------------------------------------------------------------------------


def test_schedules_in_words_follow_the_cron_fields(app):
    app.config["MAIL_ENABLED"] = True
    words = {spec.id: spec.when for spec in scheduler.job_specs(app.config)}
    assert words == {"slip-scan-daily": "每日 07:00", "execution-scan-nightly": "每日 01:30",
                     "progress-reminder-monthly": "每月 1 日 08:00", "progress-escalation-monthly": "每月 11 日 08:00",
                     "retention-prune-monthly": "每月 1 日 03:00", "email-digest-daily": "每日 07:30"}
    app.config["PROGRESS_REPORT_DAY"] = 15
    assert [r["when"] for r in scheduler.job_table(app) if r["id"] == "progress-escalation-monthly"] == ["每月 16 日 08:00"]
    # The words say when the trigger really fires.
    for spec in scheduler.job_specs(app.config):
        fire = spec.trigger(TAIPEI).get_next_fire_time(None, datetime(2017, 9, 2, tzinfo=TAIPEI))
        assert f"{fire:%H:%M}" in spec.when
        if spec.when.startswith("每月"):
            assert spec.when.startswith(f"每月 {fire.day} 日 ")
            assert spec.trigger(TAIPEI).get_next_fire_time(fire, fire + timedelta(seconds=1)).day == fire.day
        else:
            assert spec.when.startswith("每日 ")
            assert spec.trigger(TAIPEI).get_next_fire_time(fire, fire + timedelta(seconds=1)) == fire + timedelta(days=1)
    assert scheduler.schedule_words({"day_of_week": 0, "hour": 9}) == "每週一 09:00"
    assert scheduler.schedule_words({"month": 1, "day": 2, "hour": 3, "minute": 4}) == "每年 1 月 2 日 03:04"
    for unsayable in ({"minute": "*/5"}, {"hour": "7,19"}, {"hour": 7, "second": 30}, {"day": 1}):
        with pytest.raises(ValueError, match="cannot put the cron fields"):
            scheduler.schedule_words(unsayable)


def test_jobs_list_shows_words_not_triggers(app, runner):
    result = runner.invoke(["jobs", "list"])
    assert result.exit_code == 0, result.output
    assert "slip-scan-daily\t每日 07:00\tAsia/Taipei\tnext " in result.output
    assert "retention-prune-monthly\t每月 1 日 03:00" in result.output and "cron[" not in result.output


# --- every run recorded, whoever started it ------------------------------------------------------------------


def test_tracker_scan_records_a_run_of_each_scan_started_by_cli(lagging, runner, session):
    result = runner.invoke(["scan", "--as-of", "2017-08-31"])
    assert result.exit_code == 0, result.output
    assert "schedule scan as of 2017-08-31: " in result.output
    assert "execution scan as of 2017-08-31: 2 opened, 0 updated, 0 resolved" in result.output
    schedule, execution = runs(session)
    assert (schedule.job_id, schedule.status, schedule.started_by) == ("slip-scan-daily", "succeeded", "cli")
    assert (execution.job_id, execution.status, execution.started_by) == ("execution-scan-nightly", "succeeded", "cli")
    assert (execution.opened, execution.host, execution.pid) == (2, socket.gethostname(), os.getpid())
    assert execution.details == {"scan": "execution", "as_of": "2017-08-31"}
    full = runner.invoke(["scan", "--as-of", "2017-08-31", "--full"])
    assert full.exit_code == 0 and "incremental" not in full.output
    assert [r.details.get("full") for r in runs(session)] == [None, None, True, True]
    assert "全部重新檢核" in jobs.describe(runs(session)[-1])


def test_tracker_scan_without_a_date_judges_today_in_taipei(app, runner, session):
    result = runner.invoke(["scan"])
    assert result.exit_code == 0, result.output
    today = jobs.today_in(app.config).isoformat()
    assert f"schedule scan as of {today}: " in result.output
    assert {r.details["as_of"] for r in runs(session)} == {today}


def test_a_failing_scan_from_the_cli_is_recorded_and_exits_non_zero(lagging, runner, session, monkeypatch):
    def broken(app, session, today, who, full=False):
        raise RuntimeError("排程檢核中斷")

    monkeypatch.setitem(jobs.JOB_BODIES, "slip-scan-daily", broken)
    result = runner.invoke(["scan", "--as-of", "2017-08-31"])
    assert result.exit_code == 1
    assert "slip-scan-daily failed" in result.output and "RuntimeError: 排程檢核中斷" in result.output
    assert "execution scan as of 2017-08-31: 2 opened" in result.output  # the other scan still ran
    assert [(r.job_id, r.status, r.started_by) for r in runs(session)] == [
        ("slip-scan-daily", "failed", "cli"), ("execution-scan-nightly", "succeeded", "cli")]


def test_jobs_run_records_cli_and_the_scheduler_records_scheduler(lagging, runner, session):
    result = runner.invoke(["jobs", "run", "execution-scan-nightly", "--as-of", "2017-08-31"])
    assert result.exit_code == 0 and "execution-scan-nightly succeeded: 2 opened" in result.output
    scheduler.scheduled_run(lagging, "execution-scan-nightly", AUGUST_END)
    assert [(r.started_by, r.host, r.pid) for r in runs(session)] == [
        ("cli", socket.gethostname(), os.getpid()), ("scheduler", socket.gethostname(), os.getpid())]


# --- runs left behind by a dead process -------------------------------------------------------------------------


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def add_run(session, job_id="slip-scan-daily", status="running", **values) -> int:
    # In UTC, as the tracker stores timestamps (SQLite keeps the wall time and drops the zone).
    values["started_at"] = values.get("started_at", datetime.now(TAIPEI)).astimezone(ZoneInfo("UTC"))
    run = JobRun(job_id=job_id, status=status, **values)
    session.add(run)
    session.commit()
    return run.id


def test_a_run_of_a_dead_process_is_marked_interrupted_when_the_scheduler_starts(app, session):
    noon = datetime.now(TAIPEI).replace(hour=12, minute=0, second=0, microsecond=0)  # no job is due near noon
    here = socket.gethostname()
    dead = add_run(session, host=here, pid=dead_pid(), started_at=noon - timedelta(minutes=3), started_by="cli")
    alive = add_run(session, host=here, pid=os.getpid(), started_at=noon - timedelta(minutes=3))
    stale = add_run(session, "execution-scan-nightly", host="other-host", pid=1, started_at=noon - timedelta(hours=7))
    recent = add_run(session, "execution-scan-nightly", host="other-host", pid=1, started_at=noon - timedelta(hours=1))
    done = add_run(session, status="succeeded", host=here, pid=dead_pid(), started_at=noon - timedelta(days=1))

    started = scheduler.start_background(app, now=noon)
    try:
        assert started is not None
        session.expire_all()
        status = {r.id: r for r in session.scalars(sa.select(JobRun))}
        assert status[dead].status == "interrupted" and status[stale].status == "interrupted"
        assert status[alive].status == "running" and status[recent].status == "running"
        assert status[done].status == "succeeded" and status[done].error is None
        assert status[dead].finished_at is not None
        assert status[dead].error.startswith("Interrupted: the run on ") and "no longer running" in status[dead].error
        assert "still running after 6:00:00" in status[stale].error
        assert len(status) == 5  # nothing was due: no job ran
    finally:
        scheduler.stop_background(app)
    assert labels.RUN_STATUS_LABELS["interrupted"] == "已中斷"


def test_the_jobs_page_shows_an_interrupted_run(app, session, make_user, auth, client):
    add_run(session, host=socket.gethostname(), pid=dead_pid())
    with db.new_session(app) as s:
        [run] = jobs.mark_interrupted(s)
        s.commit()
    make_user("root", "admin")
    auth.login("root")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "已中斷" in html and "Interrupted: the run on" in html


def test_a_blocking_scheduler_process_marks_interrupted_runs_at_start(app, tmp_path):
    url = app.config["DATABASE_URL"]
    with db.new_session(app) as s:
        dead = add_run(s, host=socket.gethostname(), pid=dead_pid())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-c", SCHEDULER_PROCESS, url, str(tmp_path / "other")], cwd=ROOT,
                                   env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
    try:
        deadline = time.monotonic() + 30
        while " next " not in log_path.read_text():  # the job table is logged after the start-up checks
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the scheduler process did not start"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    with db.new_session(app) as s:
        assert s.get(JobRun, dead).status == "interrupted"
    assert f"run {dead} (started by scheduler on {socket.gethostname()}" in log_path.read_text()
    assert "never finished; marked interrupted" in log_path.read_text()


# --- a job missed while the scheduler was down ---------------------------------------------------------------


SEPTEMBER_5 = date(2017, 9, 5)  # a Tuesday: no monthly job is due


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TAIPEI)


def test_a_job_missed_within_its_grace_time_is_found(app, session):
    missed = scheduler.missed_jobs(app, now=at(SEPTEMBER_5, 7, 20))
    assert [(spec.id, fired) for spec, fired in missed] == [("slip-scan-daily", at(SEPTEMBER_5, 7, 0))]
    assert scheduler.missed_jobs(app, now=at(SEPTEMBER_5, 9, 30)) == []  # past the 60-minute grace
    assert scheduler.missed_jobs(app, now=at(SEPTEMBER_5, 6, 59)) == []  # not yet due
    assert [spec.id for spec, _ in scheduler.missed_jobs(app, now=at(date(2017, 9, 1), 8, 10))] == [
        "progress-reminder-monthly"]
    # A run interrupted at 07:01 does not count; a run started at 07:05 (by anyone) does.
    add_run(session, status="interrupted", started_at=at(SEPTEMBER_5, 7, 1))
    assert [spec.id for spec, _ in scheduler.missed_jobs(app, now=at(SEPTEMBER_5, 7, 20))] == ["slip-scan-daily"]
    add_run(session, status="succeeded", started_at=at(SEPTEMBER_5, 7, 5), started_by="cli")
    assert scheduler.missed_jobs(app, now=at(SEPTEMBER_5, 7, 20)) == []
    # A run before the fire time does not count.
    assert [spec.id for spec, _ in scheduler.missed_jobs(app, now=at(date(2017, 9, 6), 7, 20))] == ["slip-scan-daily"]


def test_at_start_a_missed_job_is_made_due_now_and_others_keep_their_time(app):
    built = scheduler.build_scheduler(app, BackgroundScheduler)
    before = datetime.now(TAIPEI)
    scheduler.start_up(app, built, now=at(SEPTEMBER_5, 7, 20))
    due = {job.id: job.next_run_time for job in built.get_jobs() if hasattr(job, "next_run_time")}
    assert list(due) == ["slip-scan-daily"] and before <= due["slip-scan-daily"] <= datetime.now(TAIPEI)

    later = scheduler.build_scheduler(app, BackgroundScheduler)
    scheduler.start_up(app, later, now=at(SEPTEMBER_5, 9, 30))
    assert [job.id for job in later.get_jobs() if hasattr(job, "next_run_time")] == []  # each at its regular time


def test_a_restarted_scheduler_runs_the_missed_scan_once(app, session):
    # A crash at 06:59 and a restart at 07:20 (today, Taipei): the 07:00 scan still runs, once, at start.
    started = scheduler.start_background(app, now=datetime.now(TAIPEI).replace(hour=7, minute=20))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            done = [r for r in runs(session) if r.status != "running"]
            if done:
                break
            time.sleep(0.05)
        assert [(r.job_id, r.status, r.started_by) for r in done] == [("slip-scan-daily", "succeeded", "scheduler")]
        # Afterwards the job is back on its trigger: the next run is the next 07:00, not now again.
        next_run = started.get_job("slip-scan-daily").next_run_time
        assert next_run == CronTrigger(hour=7, minute=0, timezone=TAIPEI).get_next_fire_time(None, datetime.now(TAIPEI))
        assert len(runs(session)) == 1
    finally:
        scheduler.stop_background(app)
    assert len(runs(session)) == 1


def test_a_run_stopped_by_ctrl_c_is_recorded_as_interrupted(lagging, session):
    def stopped(s):
        run_scan("execution", s, AUGUST_END, lagging.config, jobs.SCHEDULER)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(lagging, "execution-scan-nightly", stopped, "cli")
    [run] = runs(session)
    assert (run.status, run.started_by) == ("interrupted", "cli") and run.finished_at is not None
    assert run.error == "Interrupted: KeyboardInterrupt stopped the run before it finished."
    assert unresolved(session) == []  # rolled back
