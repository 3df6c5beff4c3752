"""Scheduled jobs: what each one does, and the one wrapper that runs it and records a JobRun."""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from tracker import db
from tracker.domain.roc import format_roc_date
from tracker.models import JobRun, utcnow
from tracker.services import audit, notify
from tracker.services.alerts import ScanResult
from tracker.services.progress import projects_due
from tracker.services.scans import run_scan

log = logging.getLogger(__name__)

#: The scheduler's identity in the audit log.
SCHEDULER = audit.Who("scheduler")

SLIP_SCAN = "slip-scan-daily"
EXECUTION_SCAN = "execution-scan-nightly"
PROGRESS_REMINDER = "progress-reminder-monthly"
PROGRESS_ESCALATION = "progress-escalation-monthly"
EMAIL_DIGEST = "email-digest-daily"

JOB_LABELS = {
    SLIP_SCAN: "進度落後檢核",
    EXECUTION_SCAN: "預算執行率檢核",
    PROGRESS_REMINDER: "進度填報提醒",
    PROGRESS_ESCALATION: "逾期未填報通報",
    EMAIL_DIGEST: "每日警示摘要郵件",
}
RUN_STATUS_LABELS = {"running": "執行中", "succeeded": "成功", "failed": "失敗"}
#: Longest error text kept on a JobRun (the traceback's tail is what explains it).
MAX_ERROR_CHARS = 8000


@dataclass
class JobOutcome:
    """What a job changed (alert counts) and what else it did (details)."""

    opened: int = 0
    updated: int = 0
    resolved: int = 0
    details: dict[str, Any] = field(default_factory=dict)


JobFunc = Callable[[so.Session], "JobOutcome | ScanResult | None"]


def today_in(config) -> date:
    """Today's date in the configured timezone (Asia/Taipei): scans judge as of the Taipei day."""
    return datetime.now(ZoneInfo(config["TIMEZONE"])).date()


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


def run_job(app: Flask, job_id: str, func: JobFunc) -> JobRun:
    """Run func(session) as job_id and record it: its work and the succeeded JobRun commit together;
    on an error the work is rolled back and the failed JobRun, with the error, is committed on its own.
    The error is logged, not raised, so a failing job never stops the scheduler."""
    with app.app_context(), db.new_session(app) as session:
        run = JobRun(job_id=job_id, status="running", started_at=utcnow(), details={})
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
        log.info("job %s %s: %s opened, %s updated, %s resolved", job_id, run.status, run.opened, run.updated,
                 run.resolved)
        return run


# --- what each job does -------------------------------------------------------------------------------------


def _scan(name: str):
    def body(app: Flask, session: so.Session, today: date, who: audit.Who) -> JobOutcome:
        result = run_scan(name, session, today, app.config, who)
        return JobOutcome(result.opened, result.updated, result.resolved, {"scan": name, "as_of": today})

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


#: Every job the scheduler knows, by id; the CLI runs them by the same ids.
JOB_BODIES = {
    SLIP_SCAN: _scan("schedule"),
    EXECUTION_SCAN: _scan("execution"),
    PROGRESS_REMINDER: remind_progress,
    PROGRESS_ESCALATION: escalate_progress,
    EMAIL_DIGEST: send_digest,
}


def run_named(app: Flask, job_id: str, today: date | None = None, who: audit.Who = SCHEDULER) -> JobRun:
    """Run one of the scheduler's jobs now, as of today in the configured timezone (or a given date)."""
    if job_id not in JOB_BODIES:
        raise KeyError(f"unknown job {job_id!r}; known: {', '.join(JOB_BODIES)}")
    body = JOB_BODIES[job_id]
    day = today or today_in(app.config)
    return run_job(app, job_id, lambda session: body(app, session, day, who))


def recent_runs(session: so.Session, limit: int = 100) -> list[JobRun]:
    """The latest job runs, newest first."""
    return list(session.scalars(sa.select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def describe(run: JobRun) -> str:
    """One line in Chinese for what a run did besides alerts (as-of date, mail)."""
    d = run.details or {}
    parts = []
    if d.get("as_of"):
        parts.append(f"基準日 {format_roc_date(date.fromisoformat(d['as_of']))}")
    if d.get("month"):
        parts.append(f"填報月份 {d['year_roc']}年{d['month']}月，未填報 {d.get('due_projects', 0)} 項")
    if "messages" in d:
        if d.get("mail_enabled"):
            parts.append(f"郵件寄出 {d.get('sent', 0)}／{d['messages']} 封")
        else:
            parts.append(f"郵件未啟用，未寄出（應寄 {d['messages']} 封）")
    if d.get("refused"):
        parts.append("退信：" + "、".join(d["refused"]))
    return "；".join(parts)
