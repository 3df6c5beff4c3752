"""The monthly report for the management meeting: gathers every section from the services."""
from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import sqlalchemy.orm as so

from tracker.charts.report import ReportData, render_report
from tracker.domain.execution import round_rate
from tracker.domain.roc import RocMonth, format_roc_date
from tracker.domain.slippage import Light
from tracker.services import execution, kpis
from tracker.services.alerts import KIND_LABELS, list_alerts
from tracker.services.charts import rate_bars_data, s_curve_data
from tracker.services.gantt import GanttFilter, gantt_data
from tracker.services.lights import portfolio_lights, slip_thresholds_from
from tracker.domain.labels import DIRECTION_WORDS, SEVERITY_LABELS
from tracker.domain.money import format_whole_money

SECTIONS = ["甘特圖", "預算執行情形", "執行率圖表", "未解除警示", "關鍵績效指標"]


def _pct(value) -> str:
    rounded = round_rate(value)
    return "—" if rounded is None else f"{rounded}%"


def report_data(session: so.Session, month: RocMonth, config, now: datetime | None = None) -> ReportData:
    """Everything the report of a month shows, judged as of that month's last day."""
    as_of = month.last_day
    slip_t = slip_thresholds_from(config)
    exec_t = execution.thresholds_from(config)
    table = execution.execution_report(session, month.roc_year, month.month, "system", "capital", exec_t)
    rows = [*table.rows, *([table.total] if table.total else [])]
    execution_rows = []
    for row in rows:
        v = execution.row_values(row)
        label = "合計（法務部）" if row is table.total else row.key
        execution_rows.append([label, format_whole_money(v["available_budget"]), format_whole_money(v["allocated"]), format_whole_money(v["executed"]),
                               _pct(row.rates.allocation_rate), _pct(row.rates.achievement_rate),
                               format_whole_money(v["allocated_unexecuted"]), _pct(row.forecast.rate)])
    alerts, total_alerts = list_alerts(session, None, None, None, page_size=500)
    alert_rows = [[KIND_LABELS.get(a.kind, a.kind), SEVERITY_LABELS.get(a.severity, a.severity),
                   textwrap.shorten(a.project.name, 28, placeholder="…"), textwrap.shorten(a.message, 60, placeholder="…")]
                  for a in alerts]
    board = kpis.kpi_board(session, month.roc_year, config["KPI_NEAR_MISS_PCT"])
    kpi_rows = [[r.kpi.code, textwrap.shorten(r.kpi.name, 30, placeholder="…"), r.kpi.target_text,
                 "—" if r.actual is None else f"{r.actual.normalize():f} {r.kpi.unit}",
                 DIRECTION_WORDS[r.kpi.direction], r.light.label] for r in board]
    lights = portfolio_lights(session, as_of, slip_t)
    counts = {light: sum(1 for v in lights.programmes.values() if v is light) for light in (Light.RED, Light.YELLOW, Light.GREEN)}
    ministry = table.total
    now = now or datetime.now(timezone.utc)
    summary = [
        ("重要計畫燈號（紅／黃／綠）", f"{counts[Light.RED]}／{counts[Light.YELLOW]}／{counts[Light.GREEN]}"),
        ("資本門分配預算執行率", _pct(ministry.rates.allocation_rate) if ministry else "—"),
        ("資本門經費達成率", _pct(ministry.rates.achievement_rate) if ministry else "—"),
        ("預估年底執行率（目標 90%）", _pct(ministry.forecast.rate) if ministry else "—"),
        ("未解除警示", f"{total_alerts} 則"),
    ]
    has_figures = bool(table.rows)
    return ReportData(
        title=f"法務部 {month.roc_year} 年度重要計畫管考月報（{month.roc_year}年{month.month}月）",
        as_of=as_of, as_of_label=format_roc_date(as_of),
        generated_label=f"產製：{format_roc_date(now.date())}",
        summary=summary,
        gantt=gantt_data(session, as_of, GanttFilter(year=month.roc_year), slip_t),
        execution_headings=["系統", "可支用預算數", "累計分配數", "累計執行數", "分配預算執行率", "經費達成率",
                            "已分配未執行數", "預估年底執行率"],
        execution_rows=execution_rows,
        s_curve=s_curve_data(session, month.roc_year, None, "capital", exec_t) if has_figures else None,
        rate_bars=rate_bars_data(session, month.roc_year, month.month, "capital", exec_t) if has_figures else None,
        alert_headings=["種類", "嚴重度", "計畫", "說明"],
        alert_rows=alert_rows,
        kpi_headings=["編號", "關鍵績效指標", "年度目標值", "實際值", "方向", "燈號"],
        kpi_rows=kpi_rows,
        synthetic_note=("本報告之預算與執行數為模擬資料（tracker demo），並非法務部實際數字。"
                        if table.is_synthetic and has_figures else None),
        sections=SECTIONS,
    )


def monthly_report(session: so.Session, month: RocMonth, config) -> bytes:
    """The PDF of a month's report."""
    return render_report(report_data(session, month, config))
