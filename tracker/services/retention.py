"""Retention (保存期限): what the monthly prune deletes, and how long each kind of record is kept.

Login attempts, job runs and ended sessions are deleted past their retention; the audit log (稽核紀錄)
is kept without limit: nothing here, or anywhere, deletes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import JobRun, LoginAttempt, UserSession, utcnow

#: What is pruned, the setting holding its retention in days, and its name in Chinese.
KINDS = (
    ("login_attempts", "LOGIN_ATTEMPT_RETENTION_DAYS", "登入紀錄"),
    ("job_runs", "JOB_RUN_RETENTION_DAYS", "排程執行紀錄"),
    ("user_sessions", "SESSION_RETENTION_DAYS", "已結束工作階段"),
)


@dataclass(frozen=True)
class Pruned:
    """How many rows of each kind were deleted, and the retention (days) that applied."""

    login_attempts: int
    job_runs: int
    user_sessions: int
    days: dict[str, int]

    def details(self) -> dict[str, Any]:
        """The counts and retention as a JobRun keeps them in its details."""
        return {"pruned": {kind: getattr(self, kind) for kind, _, _ in KINDS}, "retention_days": dict(self.days)}


def retention_days(config) -> dict[str, int]:
    """The retention in days of each pruned kind, from configuration."""
    return {kind: int(config[key]) for kind, key, _ in KINDS}


def _deleted(session: so.Session, statement) -> int:
    return session.execute(statement, execution_options={"synchronize_session": False}).rowcount or 0


def prune(session: so.Session, config, now: datetime | None = None) -> Pruned:
    """Delete, in one statement each, login attempts, finished job runs and sessions (ended, or created)
    older than their retention; a running job run is never deleted. The caller commits."""
    now = (now or utcnow()).astimezone(timezone.utc)
    days = retention_days(config)
    cutoff = {kind: now - timedelta(days=n) for kind, n in days.items()}
    attempts = _deleted(session, sa.delete(LoginAttempt).where(LoginAttempt.at < cutoff["login_attempts"]))
    runs = _deleted(session, sa.delete(JobRun).where(JobRun.started_at < cutoff["job_runs"],
                                                     JobRun.status != "running"))
    sessions = _deleted(session, sa.delete(UserSession).where(sa.or_(
        UserSession.ended_at < cutoff["user_sessions"], UserSession.created_at < cutoff["user_sessions"])))
    return Pruned(attempts, runs, sessions, days)


def describe(details: dict[str, Any]) -> str:
    """One line in Chinese for what a prune deleted: 「刪除逾 90 日的登入紀錄 3 筆、…」."""
    pruned, days = details.get("pruned", {}), details.get("retention_days", {})
    parts = [f"逾 {days[kind]} 日的{label} {pruned.get(kind, 0)} 筆" if kind in days else f"{label} {pruned.get(kind, 0)} 筆"
             for kind, _, label in KINDS]
    return "刪除" + "、".join(parts) + "（稽核紀錄永久保存）"
