"""Review of monthly reports (管考): a reviewer returns a submitted month with a comment or approves it.

A programme's month: 未填報 → 已送出 (submitted) → 退回 (returned) → 已送出 … → 已核定 (approved, frozen).
The month's state is its latest revision's. Nobody reviews their own report; a reviewer of a system
reviews that system's programmes (services.accounts.check_may, domain.access.may_review).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Role, may_review
from tracker.domain.progress import check_review
from tracker.models import ProgressReport, Project, User, project_systems, utcnow
from tracker.services import audit, plan_years
from tracker.services.accounts import actor_of
from tracker.services.progress import ProgressRefused, month_revisions, rescan


class ReviewConflict(Exception):
    """The revision is not the latest submitted one (a 409)."""


def _check_reviewer(session: so.Session, who: audit.Who, project: Project, report: ProgressReport) -> None:
    user = session.get(User, who.user_id) if who.user_id is not None else None
    if user is None or not may_review(actor_of(user), user.id, report.submitted_by_id, [s.code for s in project.systems]):
        if user is not None and user.id == report.submitted_by_id:
            raise PermissionError("不能審核自己填報的進度")
        raise PermissionError(f"{who.name} 不能審核此計畫的進度")


def _review(session: so.Session, project: Project, year_roc: int, month: int, revision: int | None,
            comment: str | None, who: audit.Who, config, returning: bool) -> ProgressReport:
    revisions = month_revisions(session, project.id, year_roc, month)
    latest = revisions[-1] if revisions else None
    if latest is not None:
        _check_reviewer(session, who, project, latest)
    try:
        plan_years.ensure_open(session, year_roc, field="month")
    except plan_years.YearClosedError as exc:  # a closed year's reports are history (年度結束)
        raise ProgressRefused({(None, exc.field): exc.message}) from None
    conflict, field_error = check_review(latest.state if latest else None, revision,
                                         latest.revision if latest else None, comment, returning)
    if conflict:
        raise ReviewConflict(conflict)
    if field_error:
        raise ProgressRefused({(None, "comment"): field_error})
    old_state = latest.state
    latest.state = "returned" if returning else "approved"
    latest.reviewer_comment = (comment or "").strip() or None
    latest.reviewed_by_id, latest.reviewed_at = who.user_id, utcnow()
    session.flush()
    audit.record(session, who, "progress.return" if returning else "progress.approve", "project", project.id, {
        "report": [None, f"{year_roc}-{month:02d} 第 {latest.revision} 版"], "state": [old_state, latest.state],
        "reviewer_comment": [None, latest.reviewer_comment]})
    rescan(session, config, who, project.id)
    return latest


def approve(session: so.Session, project: Project, year_roc: int, month: int, revision: int | None,
            comment: str | None, who: audit.Who, config) -> ProgressReport:
    """Approve the month's latest revision (已核定): it is frozen from now on."""
    return _review(session, project, year_roc, month, revision, comment, who, config, returning=False)


def return_report(session: so.Session, project: Project, year_roc: int, month: int, revision: int | None,
                  comment: str | None, who: audit.Who, config) -> ProgressReport:
    """Return the month's latest revision to its manager (退回) with the reviewer's comment."""
    return _review(session, project, year_roc, month, revision, comment, who, config, returning=True)


@dataclass(frozen=True)
class QueueItem:
    """A month waiting for someone: the programme and its latest revision."""

    project_id: int
    project_name: str
    report: ProgressReport


def _latest_revisions(state: str) -> sa.Select:
    """The latest revision of every programme's month, in one state."""
    ranked = sa.select(ProgressReport.id, sa.func.row_number().over(
        partition_by=(ProgressReport.project_id, ProgressReport.year_roc, ProgressReport.month),
        order_by=ProgressReport.revision.desc()).label("rank"), ProgressReport.state).subquery()
    return sa.select(ranked.c.id).where(ranked.c.rank == 1, ranked.c.state == state)


def _scope(query: sa.Select, user: User, role: Role) -> sa.Select | None:
    """Narrow a query on ProgressReport (joined to Project) to what the user's queue holds."""
    if user.role == Role.ADMIN.value:
        return query
    if user.role != role.value:
        return None
    if user.system_id is not None:
        query = query.where(sa.exists(sa.select(project_systems.c.project_id).where(
            project_systems.c.project_id == Project.id, project_systems.c.system_id == user.system_id)))
    return query


def _queue_query(user: User, state: str, role: Role) -> sa.Select | None:
    query = (sa.select(ProgressReport, Project.name).join(Project, Project.id == ProgressReport.project_id)
             .where(ProgressReport.id.in_(_latest_revisions(state))))
    query = _scope(query, user, role)
    if query is not None and state == "submitted":
        query = query.where(sa.or_(ProgressReport.submitted_by_id.is_(None), ProgressReport.submitted_by_id != user.id))
    return query


def to_review(session: so.Session, user: User, limit: int = 200) -> list[QueueItem]:
    """待審: months whose latest revision waits for this reviewer (their system's, never their own)."""
    query = _queue_query(user, "submitted", Role.REVIEWER)
    if query is None:
        return []
    rows = session.execute(query.order_by(ProgressReport.submitted_at).limit(limit)
                           .options(so.joinedload(ProgressReport.submitted_by)))
    return [QueueItem(report.project_id, name, report) for report, name in rows]


def returned(session: so.Session, user: User, limit: int = 200) -> list[QueueItem]:
    """被退回: months of this manager's system whose latest revision was returned."""
    query = _queue_query(user, "returned", Role.PROJECT_MANAGER)
    if query is None:
        return []
    rows = session.execute(query.order_by(ProgressReport.reviewed_at.desc()).limit(limit)
                           .options(so.joinedload(ProgressReport.reviewed_by)))
    return [QueueItem(report.project_id, name, report) for report, name in rows]


def queue_counts(session: so.Session, user: User) -> dict[str, int]:
    """The header's counts: {"to_review": n, "returned": n} for what this user's role has a queue of."""
    counts = {}
    for key, state, role in (("to_review", "submitted", Role.REVIEWER), ("returned", "returned", Role.PROJECT_MANAGER)):
        query = _queue_query(user, state, role)
        if query is not None:
            counts[key] = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return counts


def may_review_report(session: so.Session, user: User | None, project: Project, report: ProgressReport | None) -> bool:
    """Whether the page shows this user the approve and return buttons for this revision."""
    return (user is not None and report is not None and report.state == "submitted"
            and may_review(actor_of(user), user.id, report.submitted_by_id, [s.code for s in project.systems]))


__all__ = ["QueueItem", "ReviewConflict", "approve", "may_review_report", "queue_counts", "return_report",
           "returned", "to_review"]
