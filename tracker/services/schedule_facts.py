"""What the schedule rules read, from SQL: the slip thresholds in force, each milestone's facts and,
per programme, a fingerprint of all of it. The schedule scan (services.schedule_scan), the lights
(services.lights) and the Gantt chart (services.gantt) read their milestones here."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.roc import from_roc_year, month_end, roc_month_end, to_roc_year
from tracker.domain.slippage import (ProgrammeJudgement, ReportFacts, SlipThresholds, curve_at, judge_programme,
                                     plan_curve)
from tracker.models import Milestone, PlannedCurve, ProgressReport, Project
from tracker.services import scanstate


def slip_thresholds_from(config) -> SlipThresholds:
    """The slip thresholds in force."""
    return SlipThresholds(
        lag_points_very_large=Decimal(config["LAG_POINTS_VERY_LARGE"]), lag_points=Decimal(config["LAG_POINTS"]),
        lag_days=int(config["LAG_DAYS"]), report_day=int(config["PROGRESS_REPORT_DAY"]),
        back_loaded_tail=Decimal(config["BACK_LOADED_TAIL"]), back_loaded_share=Decimal(config["BACK_LOADED_SHARE"]),
    )


def owned_by(programme_ids: list[int]):
    """Projects that are these programmes or their sub-plans (two indexed conditions, not COALESCE(...) IN)."""
    return sa.or_(Project.id.in_(programme_ids), Project.parent_id.in_(programme_ids))


def milestone_facts(session: so.Session, programme_ids: list[int] | None = None, *extra: sa.ColumnElement):
    """The columns the slip rules read (and ``extra`` ones), for every milestone or those of some programmes.

    Rows, not ORM objects: a scan of 50,000 milestones spends its time on the rules, not on building
    objects. Each row also answers to MilestoneFacts' names, so the rules take it as it is.
    """
    owner = sa.func.coalesce(Project.parent_id, Project.id)
    query = (sa.select(Milestone.id, Milestone.project_id, Milestone.name, Milestone.planned_start_on,
                       Milestone.planned_finish_on, Milestone.status, Milestone.percent_complete,
                       Milestone.actual_start_on, Milestone.actual_finish_on,
                       owner.label("programme_id"), Project.is_very_large,
                       # the same columns under MilestoneFacts' names: a row is judged as it comes
                       Milestone.planned_start_on.label("planned_start"), Milestone.planned_finish_on.label("planned_finish"),
                       Milestone.actual_start_on.label("actual_start"), Milestone.actual_finish_on.label("actual_finish"),
                       *extra)
             .join(Project, Project.id == Milestone.project_id))
    if programme_ids is not None:
        query = query.where(owned_by(programme_ids))
    # Core rows (no ORM bookkeeping per row), streamed in batches: judging a national portfolio never
    # holds every milestone's row at once
    return session.connection().execute(query.execution_options(yield_per=10_000))


def programme_fingerprints(session: so.Session) -> dict[int, str]:
    """Per programme, a digest of everything the schedule rules read of it, from SQL aggregates.

    Every column the rules read, hashed per row in SQL (scanstate.row_hash), so any change is seen,
    a bulk UPDATE that raises no version included: its milestones (dates planned, baseline and
    actual, status, percent, name), the programme and its sub-plans (parent, very-large flag, years),
    entered curve points and progress reports.
    """
    owner = sa.func.coalesce(Project.parent_id, Project.id).label("programme_id")
    h = scanstate.row_hash
    queries = (
        sa.select(owner, sa.func.count(Milestone.id), sa.func.sum(h(
            Milestone.id, Milestone.project_id, Milestone.name, Milestone.status, Milestone.percent_complete,
            Milestone.planned_start_on, Milestone.planned_finish_on, Milestone.baseline_start_on,
            Milestone.baseline_finish_on, Milestone.actual_start_on, Milestone.actual_finish_on)))
        .join(Project, Project.id == Milestone.project_id).group_by(owner),
        sa.select(owner, sa.func.count(Project.id), sa.func.sum(h(
            Project.id, Project.parent_id, Project.is_very_large, Project.first_year_roc, Project.last_year_roc)))
        .group_by(owner),
        sa.select(owner, sa.func.count(PlannedCurve.project_id), sa.func.sum(h(
            PlannedCurve.project_id, PlannedCurve.year_roc, PlannedCurve.month, PlannedCurve.planned_percent)))
        .join(Project, Project.id == PlannedCurve.project_id).group_by(owner),
        sa.select(owner, sa.func.count(ProgressReport.id), sa.func.sum(h(
            ProgressReport.id, ProgressReport.project_id, ProgressReport.year_roc, ProgressReport.month,
            ProgressReport.revision, ProgressReport.actual_percent)))
        .join(Project, Project.id == ProgressReport.project_id).group_by(owner),
    )
    return scanstate.fingerprints(session, queries)


def entered_curves(session: so.Session, programme_ids: list[int] | None) -> dict[int, list[tuple[date, Decimal]]]:
    """Each programme's entered planned curve (of some programmes, or all): (month end, cumulative %) points,
    starting at 0% the day before its first month."""
    query = (sa.select(PlannedCurve).join(Project, Project.id == PlannedCurve.project_id)
             .where(Project.parent_id.is_(None))
             .order_by(PlannedCurve.project_id, PlannedCurve.year_roc, PlannedCurve.month))
    if programme_ids is not None:
        query = query.where(Project.id.in_(programme_ids))
    curves: dict[int, list] = defaultdict(list)
    for point in session.scalars(query):
        year = from_roc_year(point.year_roc)
        if not curves[point.project_id]:
            curves[point.project_id].append((date(year, point.month, 1) - timedelta(days=1), Decimal(0)))
        curves[point.project_id].append((month_end(year, point.month), point.planned_percent))
    return curves


def latest_reports(session: so.Session, programme_ids: list[int] | None, as_of: date) -> dict[int, ReportFacts]:
    """Each programme's latest report for a month up to the as-of date's (latest month, latest revision)."""
    year_roc, month = to_roc_year(as_of.year), as_of.month
    ranked = sa.select(
        ProgressReport.project_id, ProgressReport.year_roc, ProgressReport.month, ProgressReport.actual_percent,
        sa.func.row_number().over(partition_by=ProgressReport.project_id,
                                  order_by=(ProgressReport.year_roc.desc(), ProgressReport.month.desc(),
                                            ProgressReport.revision.desc())).label("rank"),
    ).where(sa.or_(ProgressReport.year_roc < year_roc,
                   sa.and_(ProgressReport.year_roc == year_roc, ProgressReport.month <= month)))
    if programme_ids is not None:
        ranked = ranked.where(ProgressReport.project_id.in_(programme_ids))
    sub = ranked.subquery()
    rows = session.execute(sa.select(sub.c.project_id, sub.c.year_roc, sub.c.month, sub.c.actual_percent)
                           .where(sub.c.rank == 1))
    return {pid: ReportFacts(roc_month_end(y, m), Decimal(actual)) for pid, y, m, actual in rows}


def programme_judgements(session: so.Session, programme_ids: list[int] | None, as_of: date, t: SlipThresholds,
                         *extra: sa.ColumnElement) -> dict[int, ProgrammeJudgement]:
    """Every programme (or some) judged on a date by the one domain judgement (slippage.judge_programme):
    its and its sub-plans' milestones, its planned curve and its latest report. Lights, the Gantt chart,
    the project page, the report and the schedule scan all read this. ``extra`` columns ride on the
    milestone rows (the Gantt chart draws with them)."""
    if programme_ids is not None and not programme_ids:
        return {}
    rows: dict[int, list] = defaultdict(list)
    for m in milestone_facts(session, programme_ids, *extra):
        rows[m.programme_id].append(m)
    curves = entered_curves(session, programme_ids)
    reports = latest_reports(session, programme_ids, as_of)
    flags = sa.select(Project.id, Project.is_very_large).where(Project.parent_id.is_(None))
    if programme_ids is not None:
        flags = flags.where(Project.id.in_(programme_ids))
    very_large = dict(session.execute(flags).all())
    out = {}
    for pid in (programme_ids if programme_ids is not None else very_large):
        if pid not in very_large:
            continue
        milestones = rows.get(pid, [])
        # a programme is very large if it or any of its sub-plans is
        large = very_large[pid] or any(m.is_very_large for m in milestones)
        out[pid] = judge_programme(milestones, curves.get(pid), reports.get(pid), as_of, large, t)
    return out


def planned_percent_at(session: so.Session, programme_id: int, year_roc: int, month: int) -> Decimal | None:
    """The plan's cumulative planned percent (預定進度) of a programme at a month's end: from its entered
    curve, else from its and its sub-plans' milestone dates; None when the plan gives neither."""
    curve = plan_curve(entered_curves(session, [programme_id]).get(programme_id),
                       list(milestone_facts(session, [programme_id])))
    if not curve:
        return None
    return curve_at(curve, roc_month_end(year_roc, month)).quantize(Decimal("0.01"))
