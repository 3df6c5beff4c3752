"""The schedule scan: judge every programme's milestones, curves and reports on a date and keep the
schedule alerts (逾期未完成, 進度落後, 預估完成日延後, 未填報進度, 進度後段集中) in step, incrementally."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.progress import STATUS_LABELS
from tracker.domain.roc import format_roc_date, format_roc_month, from_roc_year, month_end, to_roc_year
from tracker.domain.slippage import (SlipThresholds, curve_at, curve_from_milestones, days_behind_on_curve,
                                     is_back_loaded, judge_milestone, judge_project_curve, report_due)
from tracker.models import Milestone, PlannedCurve, ProgressReport, Project
from tracker.services import audit, scanstate
from tracker.services.alerts import Finding, ScanResult
from tracker.services.incremental_scan import Judgement, run_incremental_scan
from tracker.services.progress import programme_ids_due
from tracker.services.schedule_facts import milestone_facts, owned_by, programme_fingerprints
from tracker.domain.labels import CLOSED_STATUSES

SCHEDULE_KINDS = ("OVERDUE", "LAGGING", "FORECAST_SLIP", "NOT_REPORTED", "BACK_LOADED")
SEVERITY = {"OVERDUE": "critical", "LAGGING": "critical", "FORECAST_SLIP": "warning", "NOT_REPORTED": "warning",
            "BACK_LOADED": "info"}


def _curves(session: so.Session, programme_ids: list[int] | None) -> dict[int, list[tuple[date, Decimal]]]:
    """Entered planned curves, per project (of some programmes, or all): (month end, cumulative %) points."""
    query = sa.select(PlannedCurve).order_by(PlannedCurve.project_id, PlannedCurve.year_roc, PlannedCurve.month)
    if programme_ids is not None:
        query = query.join(Project, Project.id == PlannedCurve.project_id).where(
            owned_by(programme_ids))
    curves: dict[int, list] = defaultdict(list)
    for point in session.scalars(query):
        year = from_roc_year(point.year_roc)
        if not curves[point.project_id]:  # the curve starts at 0% the day before its first month
            curves[point.project_id].append((date(year, point.month, 1) - timedelta(days=1), Decimal(0)))
        curves[point.project_id].append((month_end(year, point.month), point.planned_percent))
    return curves


def _latest_actual(session: so.Session, project_ids: list[int] | None) -> dict[int, Decimal]:
    """Each project's actual percent in its latest report (latest month, latest revision)."""
    ranked = sa.select(
        ProgressReport.project_id, ProgressReport.actual_percent,
        sa.func.row_number().over(partition_by=ProgressReport.project_id,
                                  order_by=(ProgressReport.year_roc.desc(), ProgressReport.month.desc(),
                                            ProgressReport.revision.desc())).label("rank"),
    )
    if project_ids is not None:
        ranked = ranked.where(ProgressReport.project_id.in_(project_ids))
    sub = ranked.subquery()
    return dict(session.execute(sa.select(sub.c.project_id, sub.c.actual_percent).where(sub.c.rank == 1)).all())


def _message(kind: str, m: Milestone, verdict) -> str:
    status = STATUS_LABELS.get(m.status, m.status)
    if kind == "OVERDUE":
        late = verdict.lag_days
        return (f"「{m.name}」預定 {format_roc_date(m.planned_finish_on)} 完成，已逾期 {late} 天"
                f"（狀態：{status}，完成 {m.percent_complete.normalize():f}%）")
    if kind == "LAGGING":
        return (f"「{m.name}」預定進度 {verdict.planned_percent:.2f}%，實際 {m.percent_complete.normalize():f}%，"
                f"落後 {verdict.lag_points:.2f} 個百分點（約 {verdict.lag_days} 天）")
    return (f"「{m.name}」依目前進度推估於 {format_roc_date(verdict.forecast_finish)} 完成，"
            f"晚於預定的 {format_roc_date(m.planned_finish_on)}")


def schedule_findings(session: so.Session, as_of: date, t: SlipThresholds,
                      programme_ids: list[int] | None = None) -> list[Finding]:
    """Every schedule condition in the portfolio (or in some programmes) on a date."""
    findings: list[Finding] = []
    spans: dict[int, list[tuple[date, date]]] = defaultdict(list)
    open_programmes: set[int] = set()
    very_large: dict[int, bool] = {}
    for m in milestone_facts(session, programme_ids):
        programme_id, is_very_large = m.programme_id, m.is_very_large
        spans[programme_id].append((m.planned_start_on, m.planned_finish_on))
        very_large[programme_id] = very_large.get(programme_id, False) or is_very_large
        if m.status not in CLOSED_STATUSES:
            open_programmes.add(programme_id)
        verdict = judge_milestone(m, as_of, is_very_large, t)
        for kind in verdict.kinds:
            findings.append(Finding(kind, SEVERITY[kind], m.project_id, _message(kind, m, verdict), {
                "planned_finish": m.planned_finish_on.isoformat(), "planned_percent": str(verdict.planned_percent),
                "percent_complete": str(m.percent_complete), "lag_days": verdict.lag_days}, m.id))
    entered = _curves(session, programme_ids)
    actual = _latest_actual(session, list(entered))
    for project_id, curve in entered.items():
        if project_id in actual and curve[0][0] <= as_of:
            planned = curve_at(curve, as_of)
            verdict = judge_project_curve(planned, actual[project_id], days_behind_on_curve(curve, actual[project_id], as_of),
                                          very_large.get(project_id, False), t)
            if "LAGGING" in verdict.kinds:
                findings.append(Finding("LAGGING", "critical", project_id, (
                    f"預定進度 {planned:.2f}%，實際 {actual[project_id].normalize():f}%，落後 {verdict.lag_points:.2f} 個百分點"
                    f"（約 {verdict.lag_days} 天）"), {"planned_percent": str(planned), "actual_percent": str(actual[project_id])}))
    for project_id in open_programmes:
        curve = entered.get(project_id)
        if not curve:
            if as_of >= max(finish for _, finish in spans[project_id]):
                continue  # the plan has run its course: nothing is left to be back-loaded (and no curve to build)
            curve = curve_from_milestones(spans[project_id])
        if curve and as_of < curve[-1][0] and is_back_loaded(curve, t):
            findings.append(Finding("BACK_LOADED", "info", project_id, (
                f"預定進度集中於計畫後段：最後 {t.back_loaded_tail * 100:.0f}% 期間排定了 {t.back_loaded_share * 100:.0f}% 以上的進度，"
                f"請檢視期程是否可行"), {"curve_end": curve[-1][0].isoformat()}))
    due = report_due(as_of, t.report_day)
    if due:
        year, month = due
        label = format_roc_month(date(year, month, 1))
        wanted = None if programme_ids is None else set(programme_ids)
        for project_id in programme_ids_due(session, to_roc_year(year), month):
            if wanted is not None and project_id not in wanted:
                continue
            findings.append(Finding("NOT_REPORTED", "warning", project_id,
                                    f"{label}進度尚未填報（應於次月 {t.report_day} 日前填報）",
                                    {"year_roc": to_roc_year(year), "month": month}))
    return findings


def scan_schedule(session: so.Session, as_of: date, thresholds: SlipThresholds = SlipThresholds(),
                  who: audit.Who = audit.Who("scan"), full: bool = False) -> ScanResult:
    """Open, update and resolve the schedule alerts as of a date (the caller commits).

    Incremental: after a scan on the same date with the same thresholds, only the programmes whose
    milestones, sub-plans, curves or reports changed since are judged again (``full`` judges all).
    """
    def judge(programme_ids: list[int] | None) -> Judgement:
        return Judgement(schedule_findings(session, as_of, thresholds, programme_ids))

    def scope(programme_ids: list[int]) -> sa.Select:  # a programme's alerts are its own and its sub-plans'
        return sa.select(Project.id).where(owned_by(programme_ids))

    return run_incremental_scan(session, "schedule", SCHEDULE_KINDS, as_of, scanstate.digest(as_of, thresholds),
                                programme_fingerprints(session), judge, who, full, scope)
