"""The monthly report for the management meeting: gathers every section from the services.

The report of a month is judged as of that month's last day, or the reporting date (評核基準日)
when that falls earlier in the month; every chart stops at the month.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.charts.report import Column, LaggingProgramme, ReportData, Table, percent, render_report
from tracker.domain.execution import round_rate
from tracker.domain.labels import DIRECTION_WORDS, REPORT_STATE_LABELS, SEVERITY_LABELS
from tracker.domain.money import format_whole_money
from tracker.domain.roc import RocMonth, format_roc_date, format_roc_month
from tracker.domain.slippage import Light
from tracker.models import Alert, ProgressReport, Project
from tracker.services import execution, kpis, reporting_date
from tracker.services.alerts import KIND_LABELS, list_alerts
from tracker.services.charts import rate_bars_data, s_curve_data
from tracker.services.completeness import month_completeness
from tracker.services.earned_value import portfolio_earned_value
from tracker.services.gantt import GanttFilter, gantt_data
from tracker.services.lights import portfolio_lights, slip_thresholds_from

SECTIONS = ["落後及紅燈計畫", "甘特圖", "預算執行情形", "執行率圖表", "未解除警示", "關鍵績效指標", "未填報及待核定計畫"]


def _pct(value) -> str:
    rounded = round_rate(value)
    return "—" if rounded is None else f"{rounded}%"


def earned_value_line(session: so.Session, year_roc: int, as_of) -> str:
    """The portfolio's earned value in one line of the cover: SPI and CPI, and EV, PV and AC in 千元."""
    ev = portfolio_earned_value(session, year_roc, as_of)
    if ev.bac is None:
        return "—（尚無同時具預算、月報進度及執行數之計畫）"

    def ratio(value):
        return "—" if value is None else f"{round_rate(value)}"

    return (f"SPI {ratio(ev.spi)}、CPI {ratio(ev.cpi)}（EV {format_whole_money(ev.ev)}／PV {format_whole_money(ev.pv)}"
            f"／AC {format_whole_money(ev.ac)} 千元；BAC 為年度可支用預算數）")


def report_as_of(session: so.Session, month: RocMonth, config):
    """評核基準日 of a month's report: the month's last day, or the reporting date when it falls in the month before it."""
    current = reporting_date.current(session, config)
    return current if month.first_day <= current < month.last_day else month.last_day


def latest_reports_by_month(session: so.Session, project_ids: list[int], month: RocMonth) -> dict[int, ProgressReport]:
    """Each project's latest revision of its latest reported month at or before the report's month."""
    if not project_ids:
        return {}
    year, m = month.roc_year, month.month
    ranked = sa.select(ProgressReport.id, sa.func.row_number().over(
        partition_by=ProgressReport.project_id,
        order_by=(ProgressReport.year_roc.desc(), ProgressReport.month.desc(), ProgressReport.revision.desc()),
    ).label("rank")).where(
        ProgressReport.project_id.in_(project_ids),
        sa.or_(ProgressReport.year_roc < year, sa.and_(ProgressReport.year_roc == year, ProgressReport.month <= m)),
    ).subquery()
    rows = session.scalars(sa.select(ProgressReport).join(ranked, ranked.c.id == ProgressReport.id)
                           .where(ranked.c.rank == 1))
    return {r.project_id: r for r in rows}


def _first_photo(session: so.Session, project_id: int, year_roc: int, month: int) -> bytes | None:
    from tracker.services.attachments import first_photo  # attachments pull in the upload rules: only when needed

    return first_photo(session, project_id, year_roc, month)


def lagging_programmes(session: so.Session, month: RocMonth, lights: dict[int, Light],
                       photos: bool = True) -> list[LaggingProgramme]:
    """Every programme that is red, or has an open 進度落後 (LAGGING) alert, with what its latest report says."""
    why: dict[int, list[str]] = {pid: ["紅燈"] for pid, light in lights.items() if light is Light.RED}
    owner = sa.func.coalesce(Project.parent_id, Project.id)  # a sub-plan's alert belongs to its programme
    for programme_id, message in session.execute(
            sa.select(owner, Alert.message).join(Project, Project.id == Alert.project_id)
            .where(Alert.kind == "LAGGING", Alert.status != "resolved").order_by(Alert.id)):
        why.setdefault(programme_id, []).append(f"進度落後：{message}")
    if not why:
        return []
    programmes = list(session.scalars(sa.select(Project).where(Project.id.in_(why)).order_by(Project.seq, Project.id)))
    reports = latest_reports_by_month(session, [p.id for p in programmes], month)
    items = []
    for p in programmes:
        report = reports.get(p.id)
        if report is None:
            label = f"{format_roc_month(month.first_day)}以前未填報進度"
        else:
            state = REPORT_STATE_LABELS.get(report.state, report.state)
            label = f"{report.year_roc}年{report.month}月第 {report.revision} 次填報（{state}）"
            if (report.year_roc, report.month) != (month.roc_year, month.month):
                label += f"；{format_roc_month(month.first_day)}未填報"
        photo = _first_photo(session, p.id, report.year_roc, report.month) if report is not None and photos else None
        systems = "、".join(s.name for s in p.systems)
        items.append(LaggingProgramme(
            name=p.name, where="／".join(x for x in (systems, p.work_plan.name if p.work_plan else "") if x),
            why=tuple(why[p.id]), report_label=label,
            planned=percent(report.planned_percent) if report is not None else "—",
            actual=percent(report.actual_percent) if report is not None else "—",
            delay_reason=(report.delay_reason or "") if report else "", remedy=(report.remedy or "") if report else "",
            reviewer_comment=(report.reviewer_comment or "") if report else "", photo=photo))
    return items


def report_data(session: so.Session, month: RocMonth, config, now: datetime | None = None) -> ReportData:
    """Everything the report of a month shows, judged as of its 評核基準日 (report_as_of)."""
    as_of = report_as_of(session, month, config)
    slip_t = slip_thresholds_from(config)
    exec_t = execution.thresholds_from(config)
    done = month_completeness(session, month.roc_year, month.month)
    coverage = f"以已報 {done.figures_reported}／{done.figures_due} 個計畫計"
    table = execution.execution_report(session, month.roc_year, month.month, "system", "capital", exec_t)
    rows = [*table.rows, *([table.total] if table.total else [])]
    execution_rows = []
    for row in rows:
        v = execution.row_values(row)
        label = "合計（法務部）" if row is table.total else row.key
        reported = f"{row.reported}／{row.projects}" if getattr(row, "projects", 0) else "—"
        execution_rows.append([label, reported, format_whole_money(v["available_budget"]), format_whole_money(v["allocated"]),
                               format_whole_money(v["executed"]), _pct(row.rates.allocation_rate),
                               _pct(row.rates.achievement_rate), format_whole_money(v["allocated_unexecuted"]),
                               _pct(row.forecast.rate)])
    alerts, total_alerts = list_alerts(session, None, None, None, page_size=500)
    alert_rows = [[KIND_LABELS.get(a.kind, a.kind), SEVERITY_LABELS.get(a.severity, a.severity), a.project.name, a.message]
                  for a in alerts]
    if total_alerts > len(alerts):
        alert_rows.append(["", "", f"另有 {total_alerts - len(alerts)} 則未列出", "請見警示頁"])
    board = kpis.kpi_board(session, month.roc_year, config["KPI_NEAR_MISS_PCT"])
    kpi_rows = [[r.kpi.code, r.kpi.name, r.kpi.target_text,
                 "—" if r.actual is None else f"{r.actual.normalize():f} {r.kpi.unit}",
                 DIRECTION_WORDS[r.kpi.direction], r.light.label] for r in board]
    missing_rows = [[p.name, "、".join(p.systems) or "—", "、".join(p.managers) or "（無計畫經理帳號）", p.progress_label,
                     "—" if p.has_figures is None else ("已報" if p.has_figures else "未報")]
                    for p in done.outstanding]
    lights = portfolio_lights(session, as_of, slip_t)
    counts = {light: sum(1 for v in lights.programmes.values() if v is light) for light in (Light.RED, Light.YELLOW, Light.GREEN)}
    ministry = table.total
    now = now or datetime.now(timezone.utc)
    with_coverage = (lambda value: f"{value}（{coverage}）") if ministry else (lambda value: value)
    summary = [
        ("填報情形", done.line),
        ("重要計畫燈號（紅／黃／綠）", f"{counts[Light.RED]}／{counts[Light.YELLOW]}／{counts[Light.GREEN]}"),
        ("資本門執行率（分配預算執行率）", with_coverage(_pct(ministry.rates.allocation_rate) if ministry else "—")),
        ("資本門經費達成率", with_coverage(_pct(ministry.rates.achievement_rate) if ministry else "—")),
        ("預估年底執行率（目標 90%）", with_coverage(_pct(ministry.forecast.rate) if ministry else "—")),
        ("未解除警示", f"{total_alerts} 則"),
        ("實獲值（資本門，全部計畫合計）", earned_value_line(session, month.roc_year, as_of)),
    ]
    has_figures = bool(table.rows)
    month_label = format_roc_month(month.first_day)
    right = "right"
    tables = [
        Table(f"預算執行情形（資本門，依系統，截至 {month.month} 月底）", (
            Column("系統", 1.6), Column("月報已報", 0.8, right), Column("可支用預算數", 1.1, right),
            Column("累計分配數", 1.1, right), Column("累計執行數", 1.1, right), Column("分配預算執行率", 1.0, right),
            Column("經費達成率", 0.9, right), Column("已分配未執行數", 1.1, right), Column("預估年底執行率", 1.0, right)),
            execution_rows, "本月尚無預算或月報數字。",
            note=f"單位：千元。資本門月報已報 {done.figures_reported}／{done.figures_due} 個計畫；執行率{coverage}。"),
        Table("未解除警示", (Column("種類", 0.9), Column("嚴重度", 0.6), Column("計畫", 2.6), Column("說明", 4.4)),
              alert_rows, "目前沒有未解除的警示。"),
        Table("關鍵績效指標", (Column("編號", 0.6), Column("關鍵績效指標", 3.4), Column("年度目標值", 1.4),
                             Column("實際值", 1.2, right), Column("方向", 0.8), Column("燈號", 0.7)),
              kpi_rows, "沒有指標。"),
        Table(f"未填報及待核定計畫（{month_label}）", (Column("計畫", 3.6), Column("系統", 1.2), Column("計畫經理", 1.8),
                                                  Column("進度月報", 0.9), Column("資本門月報", 0.9)),
              missing_rows, "本月全部計畫均已填報並核定。", note=done.line),
    ]
    return ReportData(
        title=f"法務部 {month.roc_year} 年度重要計畫管考月報（{month.roc_year}年{month.month}月）",
        as_of=as_of, as_of_label=format_roc_date(as_of), month_label=month_label,
        generated_label=f"產製：{format_roc_date(now.date())}",
        completeness_line=done.line,
        summary=summary,
        gantt=gantt_data(session, as_of, GanttFilter(year=month.roc_year), slip_t),
        lagging=lagging_programmes(session, month, lights.programmes),
        tables=tables,
        s_curve=s_curve_data(session, month.roc_year, None, "capital", exec_t, through_month=month.month)
        if has_figures else None,
        rate_bars=rate_bars_data(session, month.roc_year, month.month, "capital", exec_t) if has_figures else None,
        report_month=month.month,
        synthetic_note=("本報告之預算與執行數為模擬資料（tracker demo），並非法務部實際數字。"
                        if table.is_synthetic and has_figures else None),
        sections=SECTIONS,
    )


def monthly_report(session: so.Session, month: RocMonth, config) -> bytes:
    """The PDF of a month's report."""
    return render_report(report_data(session, month, config))
