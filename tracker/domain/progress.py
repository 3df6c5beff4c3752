"""Rules for a milestone update and a monthly report: what may be reported, checked field by field."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tracker.domain.labels import CLOSED_STATUSES, REPORT_STATE_LABELS, STATUS_LABELS, STATUSES

__all__ = ["CLOSED_STATUSES", "STATUSES", "STATUS_LABELS"]  # re-exported: the lists live in domain.labels
UPDATABLE = ("status", "percent_complete", "actual_start", "actual_finish")


@dataclass(frozen=True)
class MilestoneProgress:
    """The reportable state of a milestone."""

    status: str
    percent_complete: Decimal
    actual_start: date | None
    actual_finish: date | None


def _percent(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def apply_update(current: MilestoneProgress, changes: dict[str, Any], today: date) -> tuple[MilestoneProgress, dict[str, str]]:
    """The state after a (partial) update, and every problem by field; dates must already be dates."""
    errors: dict[str, str] = {}
    for name in changes:
        if name not in UPDATABLE:
            errors[name] = f"不能更新的欄位「{name}」；可更新：{', '.join(UPDATABLE)}"
    values = {}
    if "status" in changes:
        if changes["status"] not in STATUSES:
            errors["status"] = f"未知的狀態「{changes['status']}」；須為 {', '.join(STATUSES)} 之一"
        else:
            values["status"] = changes["status"]
    if "percent_complete" in changes:
        percent = _percent(changes["percent_complete"])
        if percent is None:
            errors["percent_complete"] = "完成百分比須為數字"
        elif not Decimal(0) <= percent <= Decimal(100):
            errors["percent_complete"] = "完成百分比須介於 0 與 100 之間"
        elif percent != percent.quantize(Decimal("0.01")):
            errors["percent_complete"] = "完成百分比最多兩位小數"
        else:
            values["percent_complete"] = percent
    for name in ("actual_start", "actual_finish"):
        if name in changes:
            value = changes[name]
            if value is not None and not isinstance(value, date):
                errors[name] = "日期格式不正確"
            elif value is not None and value > today:
                errors[name] = "實際日期不可晚於今天"
            else:
                values[name] = value
    if errors:
        return current, errors
    new = replace(current, **values)
    if new.status == "done" and "percent_complete" not in changes:
        new = replace(new, percent_complete=Decimal(100))
    if new.actual_start and new.actual_finish and new.actual_finish < new.actual_start:
        errors["actual_finish"] = "實際完成日不可早於實際開始日"
    if new.status == "done":
        if new.actual_finish is None:
            errors["actual_finish"] = "已完成的里程碑須填實際完成日"
        if new.percent_complete != 100:
            errors["percent_complete"] = "已完成的里程碑完成百分比須為 100"
    if new.status == "not_started" and (new.actual_start or new.percent_complete > 0):
        errors["status"] = "已有實際開始日或進度時，狀態不可為「未開始」"
    if new.status in ("in_progress", "done") and new.actual_start is None:
        errors["actual_start"] = "進行中或已完成的里程碑須填實際開始日"
    if new.actual_finish is not None and new.status not in CLOSED_STATUSES:
        errors["status"] = "填了實際完成日，狀態應為「已完成」"
    return (current if errors else new), errors


def check_replan(start: date | None, finish: date | None, reason: str | None) -> dict[str, str]:
    """A re-plan needs both dates, in order, and a reason."""
    errors = {}
    if start is None:
        errors["planned_start"] = "請輸入新的預定開始日"
    if finish is None:
        errors["planned_finish"] = "請輸入新的預定完成日"
    if start and finish and finish < start:
        errors["planned_finish"] = "預定完成日不可早於預定開始日"
    if not (reason or "").strip():
        errors["reason"] = "請說明重新規劃的原因"
    return errors


def slip_days(baseline_finish: date, planned_finish: date) -> int:
    """How many days the planned finish has moved past the baseline (negative when earlier)."""
    return (planned_finish - baseline_finish).days


@dataclass(frozen=True)
class EarlierReport:
    """The latest report of an earlier month: cumulative percent does not fall below it without a reason."""

    label: str  #: 「106年9月」
    actual_percent: Decimal


def check_report_month(year_roc: int, month: int, first_year_roc: int, last_year_roc: int, reporting_date: date,
                       month_start: date) -> str | None:
    """A report is for a month of the programme's years, not after the reporting date (評核基準日)."""
    if not 1 <= month <= 12 or not first_year_roc <= year_roc <= last_year_roc:
        return f"{year_roc} 年 {month} 月不在計畫期程（{first_year_roc}–{last_year_roc} 年度）內"
    if month_start > reporting_date:
        return f"不能填報評核基準日（{reporting_date.isoformat()}）之後的月份"
    return None


def check_report(planned_percent: Decimal | None, actual_percent: Any, delay_reason: str | None, remedy: str | None,
                 earlier: EarlierReport | None = None, correction_reason: str | None = None,
                 month_approved: bool = False) -> dict[str, str]:
    """A month's report. The planned percent is the plan's (never typed); the actual percent is a cumulative
    percentage that does not fall below an earlier month's without a correction reason; 落後原因 and 因應對策
    are required when actual is behind planned; correcting an approved month needs a reason too."""
    errors = {}
    actual = _percent(actual_percent)
    has_reason = bool((correction_reason or "").strip())
    if actual is None:
        errors["actual_percent"] = "請輸入 0 至 100 的數字"
    elif not 0 <= actual <= 100:
        errors["actual_percent"] = "須介於 0 與 100 之間"
    elif actual != actual.quantize(Decimal("0.01")):
        errors["actual_percent"] = "實際進度最多兩位小數"
    else:
        if earlier is not None and actual < earlier.actual_percent and not has_reason:
            errors["actual_percent"] = (f"累計實際進度不可低於{earlier.label}的 {earlier.actual_percent.normalize():f}%；"
                                        f"如為更正，請填寫更正原因")
        if planned_percent is not None and actual < planned_percent:
            if not (delay_reason or "").strip():
                errors["delay_reason"] = "實際進度落後預定進度，請填寫落後原因"
            if not (remedy or "").strip():
                errors["remedy"] = "實際進度落後預定進度，請填寫因應對策"
    if month_approved and not has_reason:
        errors["correction_reason"] = "本月進度已核定；更正須填寫更正原因，並重新送審"
    return errors


def milestone_percent_falls(old: Decimal, new: Decimal, correction_reason: str | None) -> str | None:
    """A milestone's cumulative percent complete does not fall without a correction reason."""
    if new < old and not (correction_reason or "").strip():
        return f"完成百分比不可低於目前的 {old.normalize():f}%；如為更正，請填寫更正原因"
    return None


def check_review(state: str | None, revision: int | None, latest_revision: int | None,
                 comment: str | None, returning: bool) -> tuple[str | None, str | None]:
    """(conflict, field error) of a return or an approval: only the latest revision, while it is submitted,
    may be reviewed; a return needs the reviewer's comment."""
    if state is None:
        return "本月尚未填報", None
    if revision is not None and revision != latest_revision:
        return f"第 {revision} 版不是本月最新的送審版本（最新為第 {latest_revision} 版）", None
    if state != "submitted":
        return f"本月最新版本的狀態為「{REPORT_STATE_LABELS.get(state, state)}」，不在待審中", None
    if returning and not (comment or "").strip():
        return None, "退回須填寫審核意見"
    return None, None


def done_percent(milestones, report_percent: Decimal | None = None) -> Decimal | None:
    """A bar's done percent: the latest report's cumulative actual percent when there is one, else its
    milestones' percent complete weighted by their planned days (a ratio of sums; cancelled ones left out)."""
    if report_percent is not None:
        return Decimal(report_percent)
    days = done = Decimal(0)
    for m in milestones:
        if m.status == "cancelled":
            continue
        length = Decimal((m.planned_finish_on - m.planned_start_on).days + 1)
        percent = Decimal(100) if m.status == "done" else Decimal(m.percent_complete)
        days += length
        done += length * percent
    return None if days == 0 else done / days
