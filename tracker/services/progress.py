"""Monthly progress: who still owes a report, recording a report, updating and re-planning milestones."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.exc import StaleDataError

from tracker.domain.access import may_write_project
from tracker.domain.labels import CLOSED_STATUSES
from tracker.domain.progress import (EarlierReport, MilestoneProgress, apply_update, check_replan, check_report,
                                     check_report_month, milestone_percent_falls)
from tracker.domain.roc import previous_month, roc_month_start
from tracker.services.schedule_facts import planned_percent_at
from tracker.models import Milestone, PlannedCurve, ProgressReport, Project, User
from tracker.services import audit, plan_years, reporting_date
from tracker.services.accounts import actor_of



def _due_conditions(year_roc: int, month: int) -> list:
    """Conditions on Project: a programme that runs that year, has an open milestone and has not reported."""
    sub = so.aliased(Project)
    open_milestone = (
        sa.select(Milestone.id)
        .join(sub, sub.id == Milestone.project_id)
        .where(sa.or_(sub.id == Project.id, sub.parent_id == Project.id), Milestone.status.not_in(CLOSED_STATUSES))
        .exists()
    )
    reported = (
        sa.select(ProgressReport.id)
        .where(ProgressReport.project_id == Project.id, ProgressReport.year_roc == year_roc,
               ProgressReport.month == month)
        .exists()
    )
    return [Project.parent_id.is_(None), Project.first_year_roc <= year_roc, Project.last_year_roc >= year_roc,
            open_milestone, ~reported]


def projects_due(session: so.Session, year_roc: int, month: int) -> list[Project]:
    """Programmes that owe a progress report for a month and have not submitted it.

    A programme reports for itself and its sub-plans; it owes a report while it runs that year and
    any of its milestones (its own or its sub-plans') is still open.
    """
    return list(session.scalars(
        sa.select(Project).where(*_due_conditions(year_roc, month)).order_by(Project.seq)
        .options(so.selectinload(Project.systems))
    ))


def programme_ids_due(session: so.Session, year_roc: int, month: int) -> list[int]:
    """The ids of projects_due(), without loading the projects (the scan needs no more)."""
    return list(session.scalars(sa.select(Project.id).where(*_due_conditions(year_roc, month)).order_by(Project.seq)))


class ProgressRefused(Exception):
    """Input that breaks a rule; ``errors`` maps (milestone id or None, field) to a message."""

    def __init__(self, errors: dict[tuple[int | None, str], str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for (_, field), message in errors.items()))


class VersionConflict(Exception):
    """Someone saved the milestone first; ``milestones`` are the newer rows to show instead."""

    def __init__(self, milestones: list[Milestone]):
        self.milestones = milestones
        super().__init__("stale version: " + ", ".join(f"{m.id}@{m.version}" for m in milestones))


class NotAllowed(Exception):
    """The user may not write to this project."""


def _state(m: Milestone) -> MilestoneProgress:
    return MilestoneProgress(m.status, m.percent_complete, m.actual_start_on, m.actual_finish_on)


_COLUMN = {"status": "status", "percent_complete": "percent_complete", "actual_start": "actual_start_on",
           "actual_finish": "actual_finish_on"}


def _check_writer(user: User, project: Project) -> None:
    if not may_write_project(actor_of(user), [s.code for s in project.systems]):
        raise NotAllowed(f"{user.name} may not write to project {project.id}")


def _programme_of(session: so.Session, m: Milestone) -> int:
    """The programme a milestone reports under: its project's, or its sub-plan's parent's."""
    return session.scalar(sa.select(sa.func.coalesce(Project.parent_id, Project.id)).where(Project.id == m.project_id))


def _owner(session: so.Session, m: Milestone) -> Project:
    return session.scalar(sa.select(Project).where(Project.id == m.project_id).options(so.selectinload(Project.systems)))


def _apply(session: so.Session, m: Milestone, changes: dict[str, Any], today: date, who: audit.Who,
           errors: dict) -> dict[str, list]:
    """Check and set one milestone's changes; collect errors; return {field: [old, new]}."""
    new, problems = apply_update(_state(m), changes, today)
    for field, message in problems.items():
        errors[(m.id, field)] = message
    if problems:
        return {}
    diff = {}
    for field, column in _COLUMN.items():
        old, value = getattr(m, column), getattr(new, field)
        if old != value:
            diff[field] = [old, value]
            setattr(m, column, value)
    return diff


def _flush_or_conflict(session: so.Session, ids: list[int]) -> None:
    """Write; if another writer got there first, roll back and raise the conflict with the newer rows."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise VersionConflict(list(session.scalars(sa.select(Milestone).where(Milestone.id.in_(ids))))) from None


def update_milestone(session: so.Session, milestone_id: int, changes: dict[str, Any], version: int, user: User,
                     who: audit.Who, today: date, *, config) -> Milestone:
    """Report a milestone's status, dates or percent; refused on a stale version or a broken rule.
    The programme is judged again at once."""
    m = session.get(Milestone, milestone_id)
    if m is None:
        raise LookupError(milestone_id)
    _check_writer(user, _owner(session, m))
    if m.version != version:
        raise VersionConflict([m])
    errors: dict = {}
    diff = _apply(session, m, changes, today, who, errors)
    if errors:
        raise ProgressRefused(errors)
    if diff:
        _flush_or_conflict(session, [m.id])
        audit.record(session, who, "milestone.update", "milestone", m.id, diff)
        rescan(session, config, who, _programme_of(session, m))
    return m


@dataclass(frozen=True)
class MilestoneInput:
    """One row of the monthly form: the changes and the version they were made on."""

    milestone_id: int
    version: int
    changes: dict[str, Any]


def report_milestones(project: Project) -> list[Milestone]:
    """The milestones a programme reports on: its own, then its sub-plans'."""
    return [*project.milestones, *(m for sub in project.sub_plans for m in sub.milestones)]


def month_revisions(session: so.Session, project_id: int, year_roc: int, month: int) -> list[ProgressReport]:
    """Every revision of a programme's month, oldest first."""
    return list(session.scalars(sa.select(ProgressReport).where(
        ProgressReport.project_id == project_id, ProgressReport.year_roc == year_roc, ProgressReport.month == month)
        .order_by(ProgressReport.revision).options(so.joinedload(ProgressReport.submitted_by),
                                                   so.joinedload(ProgressReport.reviewed_by))))


def earlier_report(session: so.Session, project_id: int, year_roc: int, month: int) -> EarlierReport | None:
    """The latest revision of the latest month before this one, if any."""
    row = session.execute(sa.select(ProgressReport.year_roc, ProgressReport.month, ProgressReport.actual_percent).where(
        ProgressReport.project_id == project_id,
        sa.or_(ProgressReport.year_roc < year_roc, sa.and_(ProgressReport.year_roc == year_roc, ProgressReport.month < month)))
        .order_by(ProgressReport.year_roc.desc(), ProgressReport.month.desc(), ProgressReport.revision.desc()).limit(1)).first()
    return None if row is None else EarlierReport(f"{row.year_roc}年{row.month}月", Decimal(row.actual_percent))


def rescan(session: so.Session, config, who: audit.Who, programme_id: int) -> None:
    """Judge a programme again, in the caller's transaction, after a write to it: its schedule alerts follow
    at once, as of the reporting date (only this programme is judged, whatever the scan last did)."""
    from tracker.services import schedule_scan  # schedule_scan -> progress: imported late
    from tracker.services.schedule_facts import slip_thresholds_from
    session.flush()
    schedule_scan.rescan_programmes(session, reporting_date.current(session, config), slip_thresholds_from(config),
                                    who, [programme_id])


def record_report(session: so.Session, project: Project, year_roc: int, month: int, rows: list[MilestoneInput],
                  actual_percent: Any, delay_reason: str | None, remedy: str | None, user: User, who: audit.Who,
                  today: date, *, config, correction_reason: str | None = None,
                  before_commit=None) -> ProgressReport:
    """Submit a month's report (已送出): every milestone row and the programme's actual percent, all or nothing.

    The planned percent is the plan's (its curve, else its milestone dates), never typed. Each submission is
    a new revision; earlier ones stay as they were, an approved one too (a correction after approval is a
    new revision that needs approval again, with a reason). The programme is judged again at once.
    ``before_commit(report)`` runs after the report is written and may raise to refuse it (attachments).
    """
    _check_writer(user, project)
    when = reporting_date.current(session, config)
    revisions_now = month_revisions(session, project.id, year_roc, month)
    latest = revisions_now[-1] if revisions_now else None
    errors: dict = {}
    month_error = check_report_month(year_roc, month, project.first_year_roc, project.last_year_roc, when,
                                     roc_month_start(year_roc, month) if 1 <= month <= 12 else when)
    if not month_error:
        try:
            plan_years.ensure_open(session, year_roc, field="month")
        except plan_years.YearClosedError as exc:  # a closed year's reports are history (年度結束)
            month_error = exc.message
    if month_error:
        errors[(None, "month")] = month_error
        planned = None
    else:
        planned = planned_percent_at(session, project.id, year_roc, month)
        errors.update({(None, k): v for k, v in check_report(
            planned, actual_percent, delay_reason, remedy, earlier_report(session, project.id, year_roc, month),
            correction_reason, month_approved=latest is not None and latest.state == "approved").items()})
    owned = {m.id: m for m in report_milestones(project)}
    stale = []
    for row in rows:
        m = owned.get(row.milestone_id)
        if m is None:
            errors[(row.milestone_id, "milestone")] = "此里程碑不屬於本計畫"
        elif m.version != row.version:
            stale.append(m)
    if stale:
        raise VersionConflict(stale)
    diffs = {}
    for row in rows:
        m = owned.get(row.milestone_id)
        if m is None:
            continue
        before = m.percent_complete
        diff = _apply(session, m, row.changes, today, who, errors)
        problem = milestone_percent_falls(Decimal(before), Decimal(m.percent_complete), correction_reason)
        if problem:
            errors[(m.id, "percent_complete")] = problem
        if diff:
            diffs[m.id] = diff
    if errors:
        session.rollback()
        raise ProgressRefused(errors)
    _flush_or_conflict(session, list(owned))
    for milestone_id, diff in diffs.items():
        audit.record(session, who, "milestone.update", "milestone", milestone_id, diff)
    revision = (latest.revision if latest else 0) + 1
    report = ProgressReport(
        project_id=project.id, year_roc=year_roc, month=month, revision=revision, state="submitted",
        planned_percent=planned, actual_percent=Decimal(str(actual_percent)).quantize(Decimal("0.01")),
        delay_reason=(delay_reason or "").strip() or None, remedy=(remedy or "").strip() or None,
        correction_reason=(correction_reason or "").strip() or None,
        milestones={str(m.id): snapshot(m) for m in owned.values()}, submitted_by_id=user.id,
    )
    session.add(report)
    session.flush()
    audit.record(session, who, "progress.report", "project", project.id, {
        "report": [None, f"{year_roc}-{month:02d} 第 {revision} 版"],
        "state": [latest.state if latest else None, "submitted"],
        "planned_percent": [None, None if planned is None else str(planned)],
        "actual_percent": [None, str(report.actual_percent)], "delay_reason": [None, report.delay_reason],
        "remedy": [None, report.remedy], "correction_reason": [None, report.correction_reason]})
    if before_commit is not None:
        before_commit(report)
    rescan(session, config, who, project.id)
    return report


def snapshot(m: Milestone) -> dict[str, Any]:
    """A milestone as it stands, for the frozen report."""
    return {"name": m.name, "status": m.status, "percent_complete": str(m.percent_complete),
            "actual_start": m.actual_start_on.isoformat() if m.actual_start_on else None,
            "actual_finish": m.actual_finish_on.isoformat() if m.actual_finish_on else None,
            "planned_start": m.planned_start_on.isoformat(), "planned_finish": m.planned_finish_on.isoformat(),
            "version": m.version}


def revisions(session: so.Session, project_id: int) -> list[ProgressReport]:
    """Every submitted report of a project, newest month and revision first."""
    return list(session.scalars(sa.select(ProgressReport).where(ProgressReport.project_id == project_id)
                                .order_by(ProgressReport.year_roc.desc(), ProgressReport.month.desc(),
                                          ProgressReport.revision.desc())
                                .options(so.joinedload(ProgressReport.submitted_by))))


def compare(a: ProgressReport, b: ProgressReport) -> list[tuple[str, Any, Any]]:
    """What differs between two revisions, field by field (milestone fields named by milestone)."""
    out = []
    for field in ("state", "planned_percent", "actual_percent", "delay_reason", "remedy", "correction_reason",
                  "reviewer_comment"):
        if getattr(a, field) != getattr(b, field):
            out.append((field, getattr(a, field), getattr(b, field)))
    for key in sorted(set(a.milestones) | set(b.milestones), key=int):
        old, new = a.milestones.get(key, {}), b.milestones.get(key, {})
        for field in ("status", "percent_complete", "actual_start", "actual_finish", "planned_start", "planned_finish"):
            if old.get(field) != new.get(field):
                out.append((f"{(new or old).get('name', key)}：{field}", old.get(field), new.get(field)))
    return out


def replan_milestone(session: so.Session, milestone_id: int, planned_start: date | None, planned_finish: date | None,
                     reason: str | None, version: int, user: User, who: audit.Who, *, config) -> Milestone:
    """Move a milestone's planned dates with a reason; the baseline stays, so the slip shows in days.
    The planned percent moves with it; the programme is judged again at once."""
    m = session.get(Milestone, milestone_id)
    if m is None:
        raise LookupError(milestone_id)
    _check_writer(user, _owner(session, m))
    errors = {(m.id, k): v for k, v in check_replan(planned_start, planned_finish, reason).items()}
    if errors:
        raise ProgressRefused(errors)
    if m.version != version:
        raise VersionConflict([m])
    diff = {}
    for field, value in (("planned_start_on", planned_start), ("planned_finish_on", planned_finish)):
        if getattr(m, field) != value:
            diff[field] = [getattr(m, field), value]
            setattr(m, field, value)
    if not diff:
        return m
    m.replan_reason = reason.strip()
    _flush_or_conflict(session, [m.id])
    diff["reason"] = [None, m.replan_reason]
    audit.record(session, who, "milestone.replan", "milestone", m.id, diff)
    rescan(session, config, who, _programme_of(session, m))
    return m


def set_planned_curve(session: so.Session, project: Project, year_roc: int, points: dict[int, Decimal | None],
                      user: User, who: audit.Who, *, config, reason: str | None = None) -> None:
    """Enter a project's planned monthly curve (cumulative %, never decreasing); empty months are cleared.
    Changing points that were set needs a reason (it moves the planned percent of reports); the programme
    is judged again at once."""
    _check_writer(user, project)
    errors = {}
    last = Decimal(0)
    for month in sorted(points):
        value = points[month]
        if value is None:
            continue
        if not 0 <= value <= 100:
            errors[(None, f"m{month}")] = "須介於 0 與 100 之間"
        elif value < last:
            errors[(None, f"m{month}")] = f"累計預定進度不可低於前一個月（{last}%）"
        last = max(last, value)
    if errors:
        raise ProgressRefused(errors)
    existing = {p.month: p for p in session.scalars(sa.select(PlannedCurve).where(
        PlannedCurve.project_id == project.id, PlannedCurve.year_roc == year_roc))}
    diff = {}
    for month, value in points.items():
        row = existing.get(month)
        if value is None and row is not None:
            diff[str(month)] = [str(row.planned_percent), None]
            session.delete(row)
        elif value is not None and row is None:
            session.add(PlannedCurve(project_id=project.id, year_roc=year_roc, month=month, planned_percent=value))
            diff[str(month)] = [None, str(value)]
        elif value is not None and row.planned_percent != value:
            diff[str(month)] = [str(row.planned_percent), str(value)]
            row.planned_percent = value
    if any(old is not None for old, _ in diff.values()) and not (reason or "").strip():
        session.rollback()
        raise ProgressRefused({(None, "reason"): "變更已設定的預定進度須說明原因"})
    if diff:
        session.flush()
        changes = {f"{year_roc}年{k}月預定進度": v for k, v in diff.items()}
        if (reason or "").strip():
            changes["reason"] = [None, reason.strip()]
        audit.record(session, who, "curve.update", "project", project.id, changes)
        rescan(session, config, who, project.parent_id or project.id)


def default_report_month(project: Project, today: date) -> tuple[int, int]:
    """The month a report made today is for: last month, or December of the project's last year once it has ended."""
    year_roc, month = previous_month(today)
    if year_roc > project.last_year_roc:
        return project.last_year_roc, 12
    return year_roc, month


@dataclass(frozen=True)
class ReportDefaults:
    """What the monthly form shows before anything is typed: the plan's planned percent, and the latest
    revision's values if the month has one."""

    planned_percent: Decimal | None
    actual_percent: Decimal | None = None
    delay_reason: str | None = None
    remedy: str | None = None


def report_defaults(session: so.Session, project: Project, year_roc: int, month: int) -> ReportDefaults:
    """The form's starting values: the planned percent at month end from the plan (entered curve, else the
    milestones' planned spans), and the month's latest revision's actual percent and reasons."""
    planned = planned_percent_at(session, project.id, year_roc, month)
    latest = session.scalars(sa.select(ProgressReport).where(
        ProgressReport.project_id == project.id, ProgressReport.year_roc == year_roc, ProgressReport.month == month)
        .order_by(ProgressReport.revision.desc()).limit(1)).first()
    if latest:
        return ReportDefaults(planned, latest.actual_percent, latest.delay_reason, latest.remedy)
    return ReportDefaults(planned)


def planned_curve_points(session: so.Session, project: Project, year_roc: int) -> dict[int, Decimal]:
    """The entered planned curve of a project for a year: month -> cumulative planned percent."""
    return dict(session.execute(sa.select(PlannedCurve.month, PlannedCurve.planned_percent).where(
        PlannedCurve.project_id == project.id, PlannedCurve.year_roc == year_roc)).all())
