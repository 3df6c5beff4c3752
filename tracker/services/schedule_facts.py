"""What the schedule rules read, from SQL: the slip thresholds in force, each milestone's facts and,
per programme, a fingerprint of all of it. The schedule scan (services.schedule_scan), the lights
(services.lights) and the Gantt chart (services.gantt) read their milestones here."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.slippage import SlipThresholds
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
