"""Scheduled jobs: what each one does, and the one wrapper that runs it and records a JobRun."""
from __future__ import annotations

import logging
import os
import socket
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from tracker import clock, db
from tracker.domain.access import Action
from tracker.domain.roc import format_roc_date
from tracker.models import JobRun, as_utc, utcnow
from tracker.services import audit, notify, retention
from tracker.services.accounts import check_may
from tracker.services.alerts import ScanResult
from tracker.services.progress import projects_due
from tracker.services.scans import SCAN_NAMES, run_scan

log = logging.getLogger(__name__)

#: The scheduler's identity in the audit log.
SCHEDULER = audit.Who("scheduler")

SLIP_SCAN = "slip-scan-daily"
EXECUTION_SCAN = "execution-scan-nightly"
PROGRESS_REMINDER = "progress-reminder-monthly"
PROGRESS_ESCALATION = "progress-escalation-monthly"
EMAIL_DIGEST = "email-digest-daily"
RETENTION_PRUNE = "retention-prune-monthly"

JOB_LABELS = {
    SLIP_SCAN: "進度落後檢核",
    EXECUTION_SCAN: "預算執行率檢核",
    PROGRESS_REMINDER: "進度填報提醒",
    PROGRESS_ESCALATION: "逾期未填報通報",
    EMAIL_DIGEST: "每日警示摘要郵件",
    RETENTION_PRUNE: "過期紀錄清理",
}
#: The job that runs each scan of `tracker scan` (scans.SCAN_NAMES), so a scan from the CLI is recorded as that job.
SCAN_JOBS = {"schedule": SLIP_SCAN, "execution": EXECUTION_SCAN}
#: Longest error text kept on a JobRun (the traceback's tail is what explains it).
MAX_ERROR_CHARS = 8000
#: A run still `running` after this long is taken for dead whatever its host (no job takes more than minutes;
#: the bound also covers a process on another host, whose pid cannot be checked, and a pid reused since).
RUN_GIVEN_UP_AFTER = timedelta(hours=6)


class JobAlreadyRunning(RuntimeError):
    """A run of the job is already under way in a live process: a second one is not started."""

    def __init__(self, run: JobRun):
        super().__init__(f"job {run.job_id} is already running (run {run.id}, started {run.started_at:%Y-%m-%d %H:%M} "
                         f"UTC by {run.started_by} on {run.host or '?'} pid {run.pid or '?'})")
        self.run = run


@dataclass
class JobOutcome:
    """What a job changed (alert counts) and what else it did (details)."""

    opened: int = 0
    updated: int = 0
    resolved: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: The scan's own result, for a caller that shows more of it (`tracker scan`); not stored.
    scan: ScanResult | None = None


JobFunc = Callable[[so.Session], "JobOutcome | ScanResult | None"]


def today_in(config) -> date:
    """Today's date in the configured timezone (Asia/Taipei)."""
    return clock.today(config)


def reporting_day(app: Flask) -> date:
    """The day jobs judge as of: the reporting date (評核基準日) an admin set, else today in Asia/Taipei."""
    from tracker.services import reporting_date
    with app.app_context(), db.new_session(app) as session:
        return reporting_date.current(session, app.config)


def _error_text(exc: BaseException) -> str:
    headline = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = f"{headline}\n\n{trace}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:1000] + "\n…\n" + text[-(MAX_ERROR_CHARS - 1003):]


def _as_outcome(result: JobOutcome | ScanResult | None) -> JobOutcome:
    if result is None:
        return JobOutcome()
    if isinstance(result, JobOutcome):
        return result
    return JobOutcome(result.opened, result.updated, result.resolved)


def run_job(app: Flask, job_id: str, func: JobFunc, started_by: str = "scheduler", exclusive: bool = False) -> JobRun:
    """Run func(session) as job_id and record it: its work and the succeeded JobRun commit together;
    on an error the work is rolled back and the failed JobRun, with the error, is committed on its own.
    The error is logged, not raised, so a failing job never stops the scheduler. ``exclusive`` raises
    JobAlreadyRunning instead when a live process is running the job already."""
    with app.app_context(), db.new_session(app) as session:
        if exclusive:
            busy = live_run(session, job_id)
            if busy is not None:
                raise JobAlreadyRunning(busy)
        run = JobRun(job_id=job_id, status="running", started_at=utcnow(), details={}, started_by=started_by,
                     host=socket.gethostname(), pid=os.getpid())
        session.add(run)
        session.commit()  # visible as running while the job works
        run_id = run.id
        try:
            outcome = _as_outcome(func(session))
            run.status, run.finished_at = "succeeded", utcnow()
            run.opened, run.updated, run.resolved = outcome.opened, outcome.updated, outcome.resolved
            run.details = audit.jsonable(outcome.details)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, then the scheduler carries on
            session.rollback()  # nothing half-written: the next run recomputes (scans are idempotent)
            log.exception("job %s failed", job_id)
            run = session.get(JobRun, run_id)
            run.status, run.finished_at, run.error = "failed", utcnow(), _error_text(exc)
            run.opened = run.updated = run.resolved = 0
            run.details = {}
            session.commit()
        except BaseException as exc:  # Ctrl-C on `tracker scan`, SystemExit: say so on the run, then let it go
            try:
                session.rollback()
                run = session.get(JobRun, run_id)
                run.status, run.finished_at = "interrupted", utcnow()
                run.error = f"Interrupted: {type(exc).__name__} stopped the run before it finished."
                run.details = {}
                session.commit()
            except Exception:  # noqa: BLE001 - the next scheduler start marks it from its dead pid instead
                log.exception("job %s: could not record its interruption", job_id)
            raise
        log.info("job %s %s (started by %s): %s opened, %s updated, %s resolved", job_id, run.status, started_by,
                 run.opened, run.updated, run.resolved)
        return run


# --- runs left behind by a process that died ----------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:  # e.g. a pid out of range: no such process
        return False
    return True


def gone_reason(run: JobRun, now: datetime | None = None, host: str | None = None) -> str | None:
    """Why the process of a `running` run is taken for gone, or None while it may be alive: on this host,
    its pid is not alive; anywhere, it has been running longer than RUN_GIVEN_UP_AFTER (another host's
    pids cannot be checked from here)."""
    now = now or utcnow()
    host = host or socket.gethostname()
    if run.host == host and run.pid is not None and not pid_alive(run.pid):
        return "the process is no longer running"
    if now - as_utc(run.started_at) > RUN_GIVEN_UP_AFTER:
        return f"still running after {RUN_GIVEN_UP_AFTER}"
    return None


def live_run(session: so.Session, job_id: str, now: datetime | None = None) -> JobRun | None:
    """The run of this job a live process is running now, if any."""
    running = session.scalars(sa.select(JobRun).where(JobRun.job_id == job_id, JobRun.status == "running")
                              .order_by(JobRun.started_at.desc()))
    return next((run for run in running if gone_reason(run, now) is None), None)


def mark_interrupted(session: so.Session, now: datetime | None = None) -> list[JobRun]:
    """Mark every `running` run whose process is gone as `interrupted` (finished now, with an error saying so);
    the scheduler calls this when it starts. The caller commits."""
    now = now or utcnow()
    host = socket.gethostname()
    gone = []
    for run in session.scalars(sa.select(JobRun).where(JobRun.status == "running").order_by(JobRun.id)):
        reason = gone_reason(run, now, host)
        if reason is None:
            continue
        where = f"{run.host or '?'} pid {run.pid if run.pid is not None else '?'}"
        gone.append(run)
        run.status, run.finished_at = "interrupted", now
        run.error = (f"Interrupted: the run on {where} never finished ({reason}); "
                     f"marked interrupted when a scheduler started on {host}.")
    return gone


def ran_since(session: so.Session, job_id: str, since: datetime) -> bool:
    """Whether a run of this job started at or after a moment (an interrupted run does not count: it did not finish)."""
    return session.scalar(sa.select(JobRun.id).where(
        JobRun.job_id == job_id, JobRun.started_at >= since.astimezone(timezone.utc),
        JobRun.status != "interrupted").limit(1)) is not None


# --- what each job does -------------------------------------------------------------------------------------


def _scan(name: str):
    def body(app: Flask, session: so.Session, today: date, who: audit.Who, full: bool = False) -> JobOutcome:
        result = run_scan(name, session, today, app.config, who, full)
        details = {"scan": name, "as_of": today, **({"full": True} if full else {})}
        return JobOutcome(result.opened, result.updated, result.resolved, details, scan=result)

    body.__doc__ = f"Run the {name} scan as of today."
    return body


def remind_progress(app: Flask, session: so.Session, today: date, who: audit.Who) -> JobOutcome:
    """E-mail each project manager the programmes of his or her system still owing last month's report."""
    year_roc, month = notify.previous_month(today)
    due = projects_due(session, year_roc, month)
    mails = notify.reminder_mails(session, app.config, due, year_roc, month)
    delivery = notify.send(app.config, mails)
    return JobOutcome(details={"year_roc": year_roc, "month": month, "due_projects": len(due),
                               **delivery.details(len(mails))})


def escalate_progress(app: Flask, session: so.Session, today: date, who: audit.Who) -> JobOutcome:
    """After the deadline: run the schedule scan (NOT_REPORTED alerts) and e-mail leadership and admins the list."""
    scan = run_scan("schedule", session, today, app.config, who)
    year_roc, month = notify.previous_month(today)
    due = projects_due(session, year_roc, month)
    mails = notify.escalation_mails(session, app.config, due, year_roc, month)
    delivery = notify.send(app.config, mails)
    return JobOutcome(scan.opened, scan.updated, scan.resolved, {
        "scan": "schedule", "as_of": today, "year_roc": year_roc, "month": month, "due_projects": len(due),
        **delivery.details(len(mails))})


def send_digest(app: Flask, session: so.Session, today: date, who: audit.Who) -> JobOutcome:
    """E-mail every user with an address the unresolved alerts he or she may see."""
    mails = notify.digest_mails(session, app.config, today)
    delivery = notify.send(app.config, mails)
    return JobOutcome(details={"as_of": today, **delivery.details(len(mails))})


def prune_records(app: Flask, session: so.Session, today: date, who: audit.Who) -> JobOutcome:
    """Delete login attempts, job runs and sessions past their retention (the audit log is kept)."""
    pruned = retention.prune(session, app.config)
    return JobOutcome(details=pruned.details())


#: Every job the scheduler knows, by id; the CLI runs them by the same ids.
JOB_BODIES = {
    SLIP_SCAN: _scan("schedule"),
    EXECUTION_SCAN: _scan("execution"),
    PROGRESS_REMINDER: remind_progress,
    PROGRESS_ESCALATION: escalate_progress,
    EMAIL_DIGEST: send_digest,
    RETENTION_PRUNE: prune_records,
}


def run_named(app: Flask, job_id: str, today: date | None = None, who: audit.Who = SCHEDULER,
              exclusive: bool = False) -> JobRun:
    """Run one of the scheduler's jobs now, as of the reporting date (today in Asia/Taipei unless an admin
    set one) or a given date,
    recorded as started by who (scheduler, cli or an admin's name)."""
    if job_id not in JOB_BODIES:
        raise KeyError(f"unknown job {job_id!r}; known: {', '.join(JOB_BODIES)}")
    body = JOB_BODIES[job_id]
    day = today or reporting_day(app)
    return run_job(app, job_id, lambda session: body(app, session, day, who), who.name, exclusive)


def run_now(app: Flask, job_id: str, who: audit.Who) -> JobRun:
    """An admin's 「立即執行」: run the job now unless a live process runs it already (JobAlreadyRunning), and audit it."""
    with db.new_session(app) as session:
        check_may(session, who, Action.MANAGE_USERS)
    run = run_named(app, job_id, None, who, exclusive=True)
    with db.new_session(app) as session:
        audit.record(session, who, "job.run_now", "job", job_id,
                     {"run_id": run.id, "status": run.status, "opened": run.opened, "updated": run.updated,
                      "resolved": run.resolved})
        session.commit()
    return run


def run_scan_jobs(app: Flask, today: date | None = None, who: audit.Who = audit.CLI,
                  full: bool = False) -> dict[str, tuple[JobRun, ScanResult | None]]:
    """Run every scan now, each recorded as the run of its job (SCAN_JOBS): by scan name, the run and
    the scan's result (None when it failed)."""
    day = today or reporting_day(app)
    done = {}
    for name in SCAN_NAMES:
        job_id = SCAN_JOBS[name]
        outcomes: list[JobOutcome] = []

        def work(session: so.Session, body=JOB_BODIES[job_id], outcomes=outcomes) -> JobOutcome:
            outcomes.append(body(app, session, day, who, full=full))
            return outcomes[-1]

        run = run_job(app, job_id, work, who.name)
        done[name] = (run, outcomes[-1].scan if run.status == "succeeded" and outcomes else None)
    return done


def recent_runs(session: so.Session, limit: int = 100) -> list[JobRun]:
    """The latest job runs, newest first."""
    return list(session.scalars(sa.select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def last_runs(session: so.Session) -> dict[str, JobRun]:
    """The latest run of every job that has run, by job id (one query)."""
    latest = sa.select(sa.func.max(JobRun.id)).group_by(JobRun.job_id).scalar_subquery()
    return {run.job_id: run for run in session.scalars(sa.select(JobRun).where(JobRun.id.in_(latest)))}


def describe(run: JobRun) -> str:
    """One line in Chinese for what a run did besides alerts (as-of date, mail)."""
    d = run.details or {}
    parts = []
    if d.get("as_of"):
        parts.append(f"基準日 {format_roc_date(date.fromisoformat(d['as_of']))}")
    if d.get("full"):
        parts.append("全部重新檢核")
    if d.get("month"):
        parts.append(f"填報月份 {d['year_roc']}年{d['month']}月，未填報 {d.get('due_projects', 0)} 項")
    if "messages" in d:
        if d.get("mail_enabled"):
            parts.append(f"郵件寄出 {d.get('sent', 0)}／{d['messages']} 封")
        else:
            parts.append(f"郵件未啟用，未寄出（應寄 {d['messages']} 封）")
    if d.get("refused"):
        parts.append("退信：" + "、".join(d["refused"]))
    if "pruned" in d:
        parts.append(retention.describe(d))
    return "；".join(parts)
