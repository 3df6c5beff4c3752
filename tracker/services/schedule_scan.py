"""The schedule scan: judge every programme's milestones, curves and reports on a date and keep the
schedule alerts (逾期未完成, 進度落後, 預估完成日延後, 未填報進度, 進度後段集中) in step, incrementally."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.progress import STATUS_LABELS
from tracker.domain.roc import format_roc_date, format_roc_month, to_roc_year
from tracker.domain.slippage import SlipThresholds, report_due
from tracker.models import Milestone, Project
from tracker.services import audit, scanstate
from tracker.services.alerts import Finding, ScanResult, reconcile
from tracker.services.incremental_scan import Judgement, run_incremental_scan
from tracker.services.progress import programme_ids_due
from tracker.services.schedule_facts import owned_by, programme_fingerprints, programme_judgements

SCHEDULE_KINDS = ("OVERDUE", "LAGGING", "FORECAST_SLIP", "NOT_REPORTED", "BACK_LOADED")
SEVERITY = {"OVERDUE": "critical", "LAGGING": "critical", "FORECAST_SLIP": "warning", "NOT_REPORTED": "warning",
            "BACK_LOADED": "info"}


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
    """Every schedule condition in the portfolio (or in some programmes) on a date, from the one judgement
    the lights use (schedule_facts.programme_judgements), so an open critical alert never sits on a green light."""
    findings: list[Finding] = []
    for programme_id, judgement in programme_judgements(session, programme_ids, as_of, t).items():
        for m, verdict in judgement.milestones:
            for kind in verdict.kinds:
                findings.append(Finding(kind, SEVERITY[kind], m.project_id, _message(kind, m, verdict), {
                    "planned_finish": m.planned_finish_on.isoformat(), "planned_percent": str(verdict.planned_percent),
                    "percent_complete": str(m.percent_complete), "lag_days": verdict.lag_days}, m.id))
        verdict, report = judgement.curve_verdict, judgement.report
        if verdict is not None and "LAGGING" in verdict.kinds:
            month = format_roc_month(report.month_end)
            findings.append(Finding("LAGGING", "critical", programme_id, (
                f"{month}預定進度 {verdict.planned_percent:.2f}%，實際 {report.actual_percent.normalize():f}%，"
                f"落後 {verdict.lag_points:.2f} 個百分點（約 {verdict.lag_days} 天）"),
                {"planned_percent": str(verdict.planned_percent), "actual_percent": str(report.actual_percent),
                 "report_month": report.month_end.isoformat()[:7]}))
        if judgement.is_back_loaded:
            findings.append(Finding("BACK_LOADED", "info", programme_id, (
                f"預定進度集中於計畫後段：最後 {t.back_loaded_tail * 100:.0f}% 期間排定了 {t.back_loaded_share * 100:.0f}% 以上的進度，"
                f"請檢視期程是否可行"), {"curve_end": judgement.curve[-1][0].isoformat()}))
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


def rescan_programmes(session: so.Session, as_of: date, thresholds: SlipThresholds, who: audit.Who,
                      programme_ids: list[int]) -> ScanResult:
    """Judge some programmes again after a write to them and reconcile their schedule alerts only (the caller
    commits). The scan's own record is left as it was: the next scan sees these programmes' fingerprints
    changed and judges them again, to the same findings."""
    findings = schedule_findings(session, as_of, thresholds, programme_ids)
    result = reconcile(session, SCHEDULE_KINDS, findings, as_of,
                       project_ids=sa.select(Project.id).where(owned_by(programme_ids)))
    result.judged = len(programme_ids)
    if result.opened or result.updated or result.resolved:
        audit.record(session, who, "scan.schedule", "alerts", None, {
            "as_of": as_of, "opened": result.opened, "updated": result.updated, "resolved": result.resolved,
            "judged": result.judged})
    return result
