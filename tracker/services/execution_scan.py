"""The execution scan: judge every project's capital figures as of the last month-end and keep
the execution alerts (分配預算執行率偏低, 預估未達執行率目標) in step, incrementally."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.execution import ExecutionThresholds, is_below_target, is_low_execution, round_rate
from tracker.domain.roc import format_roc_month, from_roc_year, to_roc_year
from tracker.models import Budget, MonthEnd
from tracker.services import audit, plan_years, scanstate
from tracker.services.alerts import Finding, ScanResult
from tracker.services.execution import dataset, execution_report
from tracker.services.incremental_scan import Judgement, run_incremental_scan
from tracker.domain.money import format_whole_money

EXECUTION_KINDS = ("LOW_EXECUTION", "BELOW_TARGET")


def month_end_before(as_of: date) -> tuple[int, int]:
    """The (Gregorian year, month) of the last month-end on or before a date."""
    following = as_of + timedelta(days=1)
    if following.month != as_of.month:
        return as_of.year, as_of.month
    first = as_of.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _judged_month(session: so.Session, as_of: date) -> tuple[int, int | None, bool]:
    """The (ROC year, month, synthetic?) the execution rules judge on a date: the latest month-end
    figures available by the last month-end (a late report keeps the last judgement); month None
    when that year has none or has been closed (年度結束)."""
    year, month = month_end_before(as_of)
    year_roc = to_roc_year(year)
    synthetic = bool(dataset(session, year_roc))
    if plan_years.is_closed(session, year_roc):
        return year_roc, None, synthetic  # a closed year (年度結束) is history: nothing is judged, nothing reopens
    month = session.scalar(sa.select(sa.func.max(MonthEnd.month)).where(
        MonthEnd.year_roc == year_roc, MonthEnd.kind == "capital", MonthEnd.is_synthetic.is_(synthetic),
        MonthEnd.month <= month))
    return year_roc, month, synthetic


def _figures_label(year_roc: int, month: int, figures_month: int | None) -> str:
    """「106年10月底」: the month-end of the figures judged, and 「（11 月未報）」 when they are not the judged month's.

    A programme that has not reported the month is judged on its latest earlier figures, and the alert says so,
    rather than passing October's figures off as November's (or falling silent).
    """
    shown = figures_month or month
    label = format_roc_month(date(from_roc_year(year_roc), shown, 1)) + "底"
    if figures_month is None:
        return f"{label}（{month} 月未報，尚無月報數字）"
    if figures_month != month:
        return f"{label}（{month} 月未報）"
    return label


def execution_findings(session: so.Session, as_of: date, t: ExecutionThresholds,
                       project_ids: list[int] | None = None) -> tuple[list[Finding], bool]:
    """Apply the execution rules to every project's (or some projects') capital figures as of the last month-end."""
    year_roc, month, synthetic = _judged_month(session, as_of)
    if month is None:
        return [], synthetic  # no figures for that year: nothing can be judged, so nothing stays open
    report = execution_report(session, year_roc, month, "project", "capital", t, project_ids=project_ids)
    prefix = "【模擬資料】" if synthetic else ""
    findings = []
    for row in report.rows:
        r, fc = row.rates, row.forecast
        label = _figures_label(year_roc, month, row.figures_month)
        details = {
            "year_roc": year_roc, "month": month, "figures_month": row.figures_month,
            "available_budget": str(row.figures.available),
            "allocated": str(row.figures.allocated), "executed": str(r.executed),
            "allocation_rate": str(round_rate(r.allocation_rate)) if r.allocation_rate is not None else None,
            "allocated_unexecuted": str(r.allocated_unexecuted),
            "forecast_rate": str(round_rate(fc.rate)) if fc.rate is not None else None,
            "needed_per_month": str(fc.needed_per_month) if fc.needed_per_month is not None else None,
        }
        if is_low_execution(r, t):
            findings.append(Finding("LOW_EXECUTION", "critical", row.key_id, (
                f"{prefix}{label}分配預算執行率 {round_rate(r.allocation_rate)}%（低於 {t.low_rate_pct}%），"
                f"已分配未執行數 NT${format_whole_money(r.allocated_unexecuted)} 千元（超過 {format_whole_money(t.low_unexecuted)} 千元）"),
                details))
        if is_below_target(fc, t):
            severity = "critical" if fc.rate < t.low_rate_pct else "warning"
            if fc.remaining_months:
                text = (f"預估年底執行率 {round_rate(fc.rate)}%，低於目標 {t.target_pct}%；"
                        f"每月尚需執行 NT${format_whole_money(fc.needed_per_month)} 千元")
            else:
                text = f"年度執行率 {round_rate(fc.rate)}%，未達目標 {t.target_pct}%（差 NT${format_whole_money(fc.needed_per_month)} 千元）"
            findings.append(Finding("BELOW_TARGET", severity, row.key_id, f"{prefix}{label}{text}", details))
    return findings, synthetic


def _execution_fingerprints(session: so.Session, year_roc: int, month: int | None, synthetic: bool) -> dict[int, str]:
    """Per project, a digest of every capital budget and month-end column the execution rules read."""
    if month is None:
        return {}
    h = scanstate.row_hash
    queries = (
        sa.select(Budget.project_id, sa.func.count(),
                  sa.func.sum(h(Budget.id, Budget.original, Budget.supplementary, Budget.carried_over)))
        .where(Budget.year_roc == year_roc, Budget.kind == "capital", Budget.is_synthetic.is_(synthetic))
        .group_by(Budget.project_id),
        sa.select(MonthEnd.project_id, sa.func.count(),
                  sa.func.sum(h(MonthEnd.id, MonthEnd.month, MonthEnd.allocated, MonthEnd.paid, MonthEnd.payables,
                                MonthEnd.savings)))
        .where(MonthEnd.year_roc == year_roc, MonthEnd.kind == "capital", MonthEnd.is_synthetic.is_(synthetic),
               MonthEnd.month <= month)
        .group_by(MonthEnd.project_id),
    )
    return scanstate.fingerprints(session, queries)


def scan_execution(session: so.Session, as_of: date, thresholds: ExecutionThresholds = ExecutionThresholds(),
                   who: audit.Who = audit.Who("scan"), full: bool = False) -> ScanResult:
    """Open, update and resolve the execution alerts as of a date (the caller commits).

    Incremental: after a scan that judged the same month's figures with the same thresholds, only
    the projects whose budget or month-end figures changed since are judged again (``full``: all).
    """
    year_roc, month, synthetic = _judged_month(session, as_of)

    def judge(project_ids: list[int] | None) -> Judgement:
        findings, is_synthetic = execution_findings(session, as_of, thresholds, project_ids)
        return Judgement(findings, is_synthetic)

    return run_incremental_scan(
        session, "execution", EXECUTION_KINDS, as_of, scanstate.digest(year_roc, month, synthetic, thresholds),
        _execution_fingerprints(session, year_roc, month, synthetic), judge, who, full)
