"""The schedule scan and the lights pages show: rows from SQL, rules from the domain."""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.roc import format_roc_date, format_roc_month, month_end
from tracker.domain.slippage import (Light, SlipThresholds, curve_at, curve_from_milestones,
                                     days_behind_on_curve, is_back_loaded, judge_milestone, judge_project_curve,
                                     report_due, worst)
from tracker.domain.progress import STATUS_LABELS
from tracker.models import Milestone, PlannedCurve, ProgressReport, Project, project_systems
from tracker.services import audit, datastamp, scanstate
from tracker.services.alerts import Finding, ScanResult, reconcile
from tracker.services.progress import programme_ids_due

SCHEDULE_KINDS = ("OVERDUE", "LAGGING", "FORECAST_SLIP", "NOT_REPORTED", "BACK_LOADED")
SEVERITY = {"OVERDUE": "critical", "LAGGING": "critical", "FORECAST_SLIP": "warning", "NOT_REPORTED": "warning",
            "BACK_LOADED": "info"}


def slip_thresholds_from(config) -> SlipThresholds:
    """The slip thresholds in force."""
    return SlipThresholds(
        lag_points_very_large=Decimal(config["LAG_POINTS_VERY_LARGE"]), lag_points=Decimal(config["LAG_POINTS"]),
        lag_days=int(config["LAG_DAYS"]), report_day=int(config["PROGRESS_REPORT_DAY"]),
        back_loaded_tail=Decimal(config["BACK_LOADED_TAIL"]), back_loaded_share=Decimal(config["BACK_LOADED_SHARE"]),
    )


def _owned_by(programme_ids: list[int]):
    """Projects that are these programmes or their sub-plans (two indexed conditions, not COALESCE(...) IN)."""
    return sa.or_(Project.id.in_(programme_ids), Project.parent_id.in_(programme_ids))


def _milestone_facts(session: so.Session, programme_ids: list[int] | None = None):
    """The columns the slip rules read, for every milestone (or those of some programmes), as plain rows.

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
                       Milestone.actual_start_on.label("actual_start"), Milestone.actual_finish_on.label("actual_finish"))
             .join(Project, Project.id == Milestone.project_id))
    if programme_ids is not None:
        query = query.where(_owned_by(programme_ids))
    # Core rows (no ORM bookkeeping per row), streamed in batches: judging a national portfolio never
    # holds every milestone's row at once
    return session.connection().execute(query.execution_options(yield_per=10_000))


def _curves(session: so.Session, programme_ids: list[int] | None) -> dict[int, list[tuple[date, Decimal]]]:
    """Entered planned curves, per project (of some programmes, or all): (month end, cumulative %) points."""
    query = sa.select(PlannedCurve).order_by(PlannedCurve.project_id, PlannedCurve.year_roc, PlannedCurve.month)
    if programme_ids is not None:
        query = query.join(Project, Project.id == PlannedCurve.project_id).where(
            _owned_by(programme_ids))
    curves: dict[int, list] = defaultdict(list)
    for point in session.scalars(query):
        year = point.year_roc + 1911
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
    for m in _milestone_facts(session, programme_ids):
        programme_id, is_very_large = m.programme_id, m.is_very_large
        spans[programme_id].append((m.planned_start_on, m.planned_finish_on))
        very_large[programme_id] = very_large.get(programme_id, False) or is_very_large
        if m.status not in ("done", "cancelled"):
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
        for project_id in programme_ids_due(session, year - 1911, month):
            if wanted is not None and project_id not in wanted:
                continue
            findings.append(Finding("NOT_REPORTED", "warning", project_id,
                                    f"{label}進度尚未填報（應於次月 {t.report_day} 日前填報）",
                                    {"year_roc": year - 1911, "month": month}))
    return findings


def _fingerprints(session: so.Session) -> dict[int, str]:
    """Per programme, a digest of everything the schedule rules read of it, from SQL aggregates.

    Milestones (count, ids, versions: every update raises a milestone's version), the programme and
    its sub-plans (ids, last change, very-large flags), entered curve points and progress reports.
    """
    owner = sa.func.coalesce(Project.parent_id, Project.id).label("programme_id")
    queries = (
        sa.select(owner, sa.func.count(Milestone.id), sa.func.sum(Milestone.id), sa.func.sum(Milestone.version))
        .join(Project, Project.id == Milestone.project_id).group_by(owner),
        sa.select(owner, sa.func.count(Project.id), sa.func.sum(Project.id), sa.func.max(Project.updated_at),
                  sa.func.sum(sa.case((Project.is_very_large, 1), else_=0))).group_by(owner),
        sa.select(owner, sa.func.count(PlannedCurve.project_id), sa.func.sum(PlannedCurve.planned_percent),
                  sa.func.sum(PlannedCurve.year_roc * 12 + PlannedCurve.month))
        .join(Project, Project.id == PlannedCurve.project_id).group_by(owner),
        sa.select(owner, sa.func.count(ProgressReport.id), sa.func.max(ProgressReport.id))
        .join(Project, Project.id == ProgressReport.project_id).group_by(owner),
    )
    return scanstate.fingerprints(session, queries)


def scan_schedule(session: so.Session, as_of: date, thresholds: SlipThresholds = SlipThresholds(),
                  who: audit.Who = audit.Who("scan"), full: bool = False) -> ScanResult:
    """Open, update and resolve the schedule alerts as of a date (the caller commits).

    Incremental: after a scan on the same date with the same thresholds, only the programmes whose
    milestones, sub-plans, curves or reports changed since are judged again (``full`` judges all).
    """
    todo = scanstate.plan(session, "schedule", scanstate.digest(as_of, thresholds), _fingerprints(session), full)
    if todo.is_full:
        result = reconcile(session, SCHEDULE_KINDS, schedule_findings(session, as_of, thresholds), as_of)
    elif todo.changed:
        programme_ids = sorted(todo.changed)
        owned = sa.select(Project.id).where(_owned_by(programme_ids))
        result = reconcile(session, SCHEDULE_KINDS, schedule_findings(session, as_of, thresholds, programme_ids),
                           as_of, project_ids=owned)
        result.judged = len(programme_ids)
    else:
        result = ScanResult(judged=0)
    scanstate.save(session, "schedule", todo)
    audit.record(session, who, "scan.schedule", "alerts", None, {
        "as_of": as_of, "opened": result.opened, "updated": result.updated, "resolved": result.resolved,
        "judged": "all" if result.judged is None else result.judged})
    return result


def project_lights(session: so.Session, programme_ids: list[int], as_of: date,
                   t: SlipThresholds = SlipThresholds()) -> tuple[dict[int, Light], dict[int, Light]]:
    """The light of each programme (worst of its and its sub-plans' milestones) and of each milestone."""
    by_programme: dict[int, list[Light]] = defaultdict(list)
    by_milestone: dict[int, Light] = {}
    for m in _milestone_facts(session, programme_ids):
        light = judge_milestone(m, as_of, m.is_very_large, t).light
        by_milestone[m.id] = light
        by_programme[m.programme_id].append(light)
    return {pid: worst(by_programme.get(pid, [])) for pid in programme_ids}, by_milestone


@dataclass(frozen=True)
class PortfolioLights:
    """Lights of every programme, rolled up to work plans and systems (worst of their programmes)."""

    programmes: dict[int, Light]
    work_plans: dict[int, Light]
    systems: dict[int, Light]


_LIGHTS = datastamp.StampedCache(size=16)
#: Per database, date and thresholds: the programme lights last judged and the fingerprints they were
#: judged on, so that after a change only the programmes that changed are judged again.
_JUDGED: OrderedDict[tuple, tuple[dict[int, str], dict[int, Light]]] = OrderedDict()
_JUDGED_SIZE = 8
_JUDGED_LOCK = threading.Lock()


def portfolio_lights(session: so.Session, as_of: date, t: SlipThresholds = SlipThresholds()) -> PortfolioLights:
    """All lights of the portfolio on a date; recomputed only when the data changes (the data stamp),
    and then only for the programmes whose milestones or projects changed."""
    key = (str(session.get_bind().url), as_of, t)
    stamp = datastamp.current(session)
    return _LIGHTS.get_or_build(stamp, key, lambda: _judge_portfolio(session, as_of, t, key, keep=stamp is not None))


def _judge_portfolio(session: so.Session, as_of: date, t: SlipThresholds, key: tuple, keep: bool) -> PortfolioLights:
    prints = _fingerprints(session)
    previous = _JUDGED.get(key)
    changed = None if previous is None else scanstate.changed_ids(previous[0], prints)
    by_programme: dict[int, list[Light]] = defaultdict(list)
    for m in _milestone_facts(session, None if changed is None else sorted(changed)):
        by_programme[m.programme_id].append(judge_milestone(m, as_of, m.is_very_large, t).light)
    judged = {pid: worst(lights) for pid, lights in by_programme.items()}
    if changed is None:
        programmes = judged
    else:
        programmes = {pid: light for pid, light in previous[1].items() if pid not in changed}
        programmes.update(judged)
    if keep:  # judged on committed data: the next change starts from here
        with _JUDGED_LOCK:
            _JUDGED[key] = (prints, programmes)
            _JUDGED.move_to_end(key)
            while len(_JUDGED) > _JUDGED_SIZE:
                _JUDGED.popitem(last=False)
    work_plans: dict[int, Light] = defaultdict(lambda: Light.NONE)
    for pid, work_plan_id in session.execute(sa.select(Project.id, Project.work_plan_id).where(Project.parent_id.is_(None))):
        work_plans[work_plan_id] = max(work_plans[work_plan_id], programmes.get(pid, Light.NONE))
    systems: dict[int, Light] = defaultdict(lambda: Light.NONE)
    for pid, system_id in session.execute(sa.select(project_systems.c.project_id, project_systems.c.system_id)):
        systems[system_id] = max(systems[system_id], programmes.get(pid, Light.NONE))
    return PortfolioLights(programmes, dict(work_plans), dict(systems))
