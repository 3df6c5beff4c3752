"""Coded values and their Chinese words, defined once: milestone statuses, budget kinds, alert severities and
statuses, KPI directions, job run statuses, and the colour of each light. Pure; no Flask, no SQLAlchemy.

The web layer shows the same words through its translations (tracker/web/filters.py marks them for the
catalogue); tests/test_pages.py ties those to these.
"""
from __future__ import annotations

#: A milestone's status (里程碑狀態), in the order a form lists them.
STATUSES = ("not_started", "in_progress", "done", "on_hold", "cancelled")
STATUS_LABELS = {"not_started": "未開始", "in_progress": "進行中", "done": "已完成", "on_hold": "暫停", "cancelled": "已取消"}
#: Milestones in these states need no more reporting and are never late.
CLOSED_STATUSES = ("done", "cancelled")

#: A budget's kind (經資門): capital (資本門) or current (經常門).
KIND_LABELS = {"capital": "資本門", "current": "經常門"}

#: An alert's severity, worst first, and its word.
SEVERITIES = ("critical", "warning", "info")
SEVERITY_LABELS = {"critical": "嚴重", "warning": "注意", "info": "提醒"}
#: An alert's status (待處理 → 已確認 → 已解除).
ALERT_STATUS_LABELS = {"open": "待處理", "acknowledged": "已確認", "resolved": "已解除"}

#: A KPI's direction: the actual must be at least (以上) or at most (以下) the target.
DIRECTION_WORDS = {"at_least": "以上", "at_most": "以下"}
DIRECTION_LABELS = {"at_least": "以上（≥）", "at_most": "以下（≤）"}

#: A scheduled job's run.
RUN_STATUS_LABELS = {"running": "執行中", "succeeded": "成功", "failed": "失敗", "interrupted": "已中斷"}

#: The colour a light is drawn in (charts, the report's tables), by the light's code (Light.css).
LIGHT_COLOURS = {"red": "#d32f2f", "yellow": "#f2a900", "green": "#2e7d32", "none": "#9e9e9e"}

#: A programme's month in the monthly control loop (管考): 未填報 → 已送出 → 退回 → 已核定.
REPORT_STATES = ("submitted", "returned", "approved")
REPORT_STATE_LABELS = {"unreported": "未填報", "submitted": "已送出", "returned": "退回", "approved": "已核定"}
