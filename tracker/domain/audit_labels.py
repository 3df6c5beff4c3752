"""Words for the audit log (稽核紀錄): action codes, entity types and change fields as the pages name them.

The one place these labels live: the audit viewer, its CSV export and a project's change log all read
them from here. Field labels are the labels of the forms the values were typed into (tracker/web/forms.py);
tests/test_audit_viewer.py checks that the two agree. Pure: no Flask, no SQLAlchemy, no clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tracker.domain.access import ROLE_LABELS
from tracker.domain.labels import (ALERT_STATUS_LABELS, DIRECTION_LABELS, KIND_LABELS, REPORT_STATE_LABELS,
                                   RUN_STATUS_LABELS)
from tracker.domain.labels import STATUS_LABELS as MILESTONE_STATUS_LABELS
from tracker.domain.roc import format_roc_date

#: What each action code means (動作). Codes not listed are shown as they are.
ACTION_LABELS: dict[str, str] = {
    "login.succeeded": "登入成功",
    "login.failed": "登入失敗",
    "login.throttled": "登入遭限制（失敗次數過多）",
    "login.unlock": "解除登入限制",
    "logout": "登出",
    "session.end": "結束工作階段",
    "user.create": "新增帳號",
    "user.disable": "停用帳號",
    "user.enable": "啟用帳號",
    "user.reset": "重設密碼",
    "user.password_reset": "重設密碼",
    "user.password_change": "變更密碼",
    "user.set_role": "變更角色或系統",
    "user.update": "修改帳號",
    "user.unlock": "解除登入限制",
    "token.issue": "核發 API 憑證",
    "token.rotate": "更換 API 憑證",
    "token.revoke": "撤銷 API 憑證",
    "token.revoke_all": "撤銷全部 API 憑證",
    "progress.report": "填報月進度",
    "progress.submit": "送出月進度",
    "progress.revise": "修正月進度",
    "progress.approve": "核定進度",
    "progress.return": "退回進度",
    "attachment.add": "上傳附件",
    "attachment.remove": "移除附件",
    "milestone.update": "更新里程碑進度",
    "milestone.replan": "重新規劃里程碑",
    "curve.update": "修改預定進度曲線",
    "settings.reporting_date": "設定評核基準日",
    "kpi.actual": "填報關鍵績效指標實際值",
    "alert.acknowledge": "確認警示",
    "ledger.import": "匯入預算或月報檔",
    "ledger.replace": "更正預算或月報數字",
    "ledger.undo": "復原匯入",
    "year.close": "辦理年度結束",
    "year.carry_over": "年度結束轉列以前年度保留數",
    "plan.import": "由計畫書文字載入年度計畫",
    "demo.load": "載入模擬數字",
    "demo.clear": "移除模擬數字",
    "scan.schedule": "期程掃描",
    "scan.execution": "執行率掃描",
    "job.run": "執行排程工作",
    "job.run_now": "立即執行排程工作",
    "job.prune": "清理過期紀錄",
    "seed.load": "載入計畫書資料",
    "seed.update": "依計畫書更新資料",
}

#: Families of actions, filtered by prefix (「login.」 is every login outcome).
ACTION_GROUP_LABELS: dict[str, str] = {
    "login.": "登入（全部）",
    "user.": "帳號管理（全部）",
    "token.": "API 憑證（全部）",
    "progress.": "月進度與審核（全部）",
    "milestone.": "里程碑（全部）",
    "ledger.": "預算與月報（全部）",
    "year.": "年度結束（全部）",
    "scan.": "掃描（全部）",
    "seed.": "計畫書資料（全部）",
    "plan.": "年度計畫載入（全部）",
    "job.": "排程工作（全部）",
}

#: What an entry is about (對象).
ENTITY_LABELS: dict[str, str] = {
    "user": "帳號",
    "token": "API 憑證",
    "session": "工作階段",
    "project": "計畫",
    "milestone": "里程碑",
    "kpi": "關鍵績效指標",
    "kpis": "關鍵績效指標",
    "alert": "警示",
    "alerts": "警示",
    "budget": "預算",
    "month_end": "月報數字",
    "ledger": "預算或月報檔",
    "ledger_import": "匯入紀錄",
    "seed": "計畫書",
    "systems": "系統",
    "work_plans": "工作計畫",
    "job": "排程工作",
    "settings": "系統設定",
    "report": "月報",
    "progress_report": "月報",
    "attachment": "附件",
    "plan": "年度施政計畫",
}

#: Change keys → the label of the form field they were entered in (or the column they name).
FIELD_LABELS: dict[str, str] = {
    "import_id": "匯入次",
    "deleted": "刪除列數",
    "restored": "還原列數",
    "is_correction": "更正檔",
    # the year close (年度結束)
    "year_roc": "年度",
    "closed_by": "辦理人",
    # the monthly progress form (ProgressForm)
    "planned_percent": "本月預定進度（累計%）",
    "actual_percent": "本月實際進度（累計%）",
    "delay_reason": "落後原因",
    "remedy": "因應對策",
    "report": "月報版本",
    "revision": "版本",
    "state": "審核狀態",
    "correction_reason": "更正原因",
    "reviewer_comment": "審核意見",
    "comment": "審核意見",
    "reviewed_by": "審核人",
    "reviewed_at": "審核時間",
    "submitted_by": "填報人",
    "submitted_at": "填報時間",
    "month": "月份",
    # attachments (施工照片與文件)
    "content_type": "檔案類型",
    "size": "檔案大小（位元組）",
    "sha256": "檔案雜湊值",
    "file_name": "檔案名稱",
    "filename": "檔案名稱",
    # the site's settings
    "reporting_date": "評核基準日",
    # a milestone's line on that form (MilestoneRowForm)
    "status": "狀態",
    "percent_complete": "完成%",
    "actual_start": "實際開始",
    "actual_finish": "實際完成",
    # re-planning (ReplanForm) and the seed's milestone columns
    "planned_start_on": "預定開始日",
    "planned_finish_on": "預定完成日",
    "planned_start": "預定開始日",  # the same dates as a report's milestone snapshot names them
    "planned_finish": "預定完成日",
    "reason": "重新規劃原因",
    "baseline_start_on": "基準開始日",
    "baseline_finish_on": "基準完成日",
    "source_text": "計畫書原文",
    "seq": "序號",
    # alerts (AcknowledgeForm)
    "acknowledgement": "處理說明",
    # accounts
    "name": "名稱",
    "role": "角色",
    "system": "系統",
    "email": "電子郵件",
    "token_id": "憑證編號",
    "expires_at": "憑證到期",
    "label": "用途說明",
    "is_active": "啟用",
    "disabled_at": "停用時間",
    "must_change_password": "須變更密碼",
    "sessions_ended": "結束的工作階段",
    "tokens_revoked": "撤銷的憑證",
    "revoked": "撤銷的憑證",
    # budgets and month-end figures (the import file's columns)
    "original": "原預算數",
    "supplementary": "追加預算數",
    "carried_over": "以前年度保留數",
    "allocated": "累計分配數",
    "paid": "累計實支數",
    "payables": "應付未付數",
    "savings": "累計賸餘數",
    # imports, scans, demo figures
    "kind": "種類",
    "rows": "列數",
    "created": "新增",
    "replaced": "更正",
    "updated": "更新",
    "unchanged": "未變動",
    "as_of": "基準日",
    "opened": "新增警示",
    "resolved": "解除警示",
    "judged": "判定計畫數",
    "projects": "計畫數",
    "budgets": "預算筆數",
    "month_ends": "月報筆數",
    "seed": "亂數種子",
    "retry_after": "需等候秒數",
    "run_id": "執行紀錄編號",
    # the plan's programmes (seed updates)
    "name_as_written": "計畫書所載名稱",
    "work_plan": "工作計畫",
    "category": "計畫類別",
    "phase_index": "本年期別",
    "phase_total": "總期數",
    "first_year_roc": "起始年度",
    "last_year_roc": "結束年度",
    "parent": "所屬計畫",
    "sub_code": "子計畫代號",
    "agency": "執行機關",
    "description": "說明",
    "content": "計畫內容",
    "facts": "計畫摘要",
    "systems": "系統",
    "kpis": "關鍵績效指標",
    "sort_order": "排列順序",
    # KPIs (seed updates)
    "goal_no": "施政目標編號",
    "goal": "施政目標",
    "no": "指標編號",
    "measure": "衡量標準",
    "target_value": "目標值",
    "target_text": "目標值（原文）",
    "unit": "單位",
    "direction": "方向",
    "evaluation_system": "評估體制",
    "evaluation_method": "評估方式",
    "related_plan_categories": "相關計畫類別",
    "aliases": "別名",
}

#: The same key read differently on one kind of entity.
ENTITY_FIELD_LABELS: dict[tuple[str, str], str] = {
    ("user", "name"): "帳號",
    ("project", "name"): "計畫名稱",
    ("milestone", "name"): "里程碑名稱",
    ("kpis", "name"): "指標名稱",
    ("ledger", "kind"): "檔案種類",
    ("kpis", "direction"): "方向",
    ("attachment", "name"): "檔案名稱",
}

#: The same key read differently in the entries of one action family (an attachment's name on a project's entry).
ACTION_FIELD_LABELS: dict[tuple[str, str], str] = {
    ("plan.import", "file"): "計畫書檔案",
    ("plan.import", "new"): "新增計畫數",
    ("plan.import", "continuing"): "延續計畫數",
    ("plan.import", "dropped"): "不再列出計畫數",
    ("plan.import", "replaced"): "取代已載入年度",
    ("plan.import", "programmes"): "新建計畫數",
    ("plan.import", "sub_plans"): "新建子計畫數",
    ("plan.import", "milestones"): "新建里程碑數",
    ("plan.import", "kpis"): "新建指標數",
    ("attachment.", "name"): "檔案名稱",
    ("curve.update", "reason"): "變更原因",  # CurveForm.reason (ReplanForm's reason is 重新規劃原因)
}

#: Coded values shown in words, by change key.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": {**MILESTONE_STATUS_LABELS, **ALERT_STATUS_LABELS, **RUN_STATUS_LABELS},
    "role": {role.value: label for role, label in ROLE_LABELS.items()},
    "kind": {**KIND_LABELS, "budgets": "預算", "month_end": "月報"},
    "direction": DIRECTION_LABELS,
    "state": REPORT_STATE_LABELS,
}

#: Keys whose value is a cumulative percent, shown as 「20.82%」.
PERCENT_KEYS = frozenset({"planned_percent", "actual_percent", "percent_complete"})
#: A planned curve's month (curve.update): 「106年9月預定進度」.
_PERCENT_KEY = re.compile(r"預定進度$")

#: Keys whose value is a list of things (token ids), never an [old, new] pair.
LIST_KEYS = frozenset({"revoked", "tokens_revoked", "sessions_ended", "aliases", "related_plan_categories"})

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_PERCENT = re.compile(r"^-?\d+(\.\d+)?$")
#: A report's month and revision as the log keeps it: 「106-09 第 2 版」.
_REPORT_MONTH = re.compile(r"^(\d{2,3})-(\d{2})(?=\s|$)")
#: The separator of a key that names its row: 「基本設計：status」 (a milestone's field in a revision comparison).
ROW_SEPARATOR = "："


def action_label(code: str) -> str:
    """An action code in words (login.succeeded → 登入成功); an unknown code as it is."""
    return ACTION_LABELS.get(code) or ACTION_GROUP_LABELS.get(code) or code


def entity_label(entity_type: str) -> str:
    """An entity type in words (milestone → 里程碑)."""
    return ENTITY_LABELS.get(entity_type, entity_type)


def split_key(key: str) -> tuple[str | None, str]:
    """A key that names its row, 「基本設計：status」, as (row, field); a plain key as (None, key)."""
    row, sep, field = key.rpartition(ROW_SEPARATOR)
    if sep and row and field in FIELD_LABELS:
        return row, field
    return None, key


def field_label(entity_type: str | None, key: str, action: str | None = None) -> str:
    """A change key as the form that changed it labels it (actual_percent → 本月實際進度（累計%）).

    A key naming a milestone, 「基本設計：status」, reads 「基本設計：狀態」.
    """
    row, field = split_key(key)
    if row is not None:
        return f"{row}{ROW_SEPARATOR}{field_label(entity_type or 'milestone', field)}"
    if action:
        family = action.split(".", 1)[0] + "."
        words = ACTION_FIELD_LABELS.get((action, key)) or ACTION_FIELD_LABELS.get((family, key))
        if words:
            return words
    return ENTITY_FIELD_LABELS.get((entity_type or "", key)) or FIELD_LABELS.get(key, key)


def is_percent_key(key: str) -> bool:
    """Whether a key holds a percent (a report's or milestone's percent, a planned curve's month)."""
    field = split_key(key)[1]
    return field in PERCENT_KEYS or bool(_PERCENT_KEY.search(field))


def format_value(key: str, value: Any, tz: ZoneInfo | None = None) -> str:
    """A logged value as a reader reads it: ROC dates, local times, percents, words for codes, 「—」 for nothing.

    Takes the JSON the log keeps (ISO strings, numbers as text) and the typed values a report holds
    (Decimal, date, datetime) alike.
    """
    key = split_key(key)[1]
    # "None" is how str() wrote a missing value into older entries (planned_percent before issue 12)
    if value is None or value == "" or value == [] or value == "None":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(format_value(key, v, tz) for v in value)
    if isinstance(value, dict):
        return "、".join(f"{ENTITY_LABELS.get(k) or field_label(None, k)} {format_value(k, v, tz)}"
                        for k, v in value.items())
    text = str(value)
    words = VALUE_LABELS.get(key, {}).get(text)
    if words:
        return words
    if is_percent_key(key) and _PERCENT.match(text):
        try:  # as the forms and reports show it: 45.50%
            return f"{Decimal(text).quantize(Decimal('0.01'))}%"
        except InvalidOperation:  # more digits than a Decimal holds: not a percent anyone typed
            return f"{text}%"
    if key == "report" and _REPORT_MONTH.match(text):
        return _REPORT_MONTH.sub(lambda m: f"{int(m.group(1))}年{int(m.group(2))}月", text)
    if _ISO_DATE.match(text):
        try:
            return format_roc_date(date.fromisoformat(text))
        except ValueError:
            return text
    if _ISO_DATETIME.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return local_time_text(moment, tz or ZoneInfo("Asia/Taipei"))
    return text


def local_time_text(moment: datetime, tz: ZoneInfo) -> str:
    """A UTC timestamp as ROC date and local time: 2017-07-14T17:30Z → 「106年7月15日 01:30:00」."""
    if moment.tzinfo is None:  # SQLite hands timestamps back without their (UTC) zone
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(tz)
    return f"{format_roc_date(moment.date())} {moment:%H:%M:%S}"


@dataclass(frozen=True)
class ChangeLine:
    """One changed field of an entry, in words."""

    label: str
    old: str | None  #: None for a value recorded without an earlier one (a creation)
    new: str

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.label}：{self.new}"
        return f"{self.label}：{self.old} → {self.new}"


def change_lines(entity_type: str | None, changes: dict[str, Any] | None,
                 tz: ZoneInfo | None = None, action: str | None = None) -> list[ChangeLine]:
    """An entry's changes field by field: {field: [old, new]} → 「label：old → new」, {field: value} → 「label：value」."""
    lines = []
    for key, change in (changes or {}).items():
        label = field_label(entity_type, key, action)
        if isinstance(change, (list, tuple)) and len(change) == 2 and not (
                key in LIST_KEYS and not all(isinstance(v, (list, tuple, type(None))) for v in change)):
            old, new = format_value(key, change[0], tz), format_value(key, change[1], tz)
            if old == new == "—":  # nothing before, nothing after: a field the entry lists but did not fill
                continue
            lines.append(ChangeLine(label, old, new))
        else:
            lines.append(ChangeLine(label, None, format_value(key, change, tz)))
    return lines
