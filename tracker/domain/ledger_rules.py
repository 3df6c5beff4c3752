"""Checks across months of one programme's month-end figures (月報), before a file is written.

Month-end figures are cumulative from January (DOMAIN.md, 「Money」): the 累計分配數 and the 執行數
(實支數 + 應付未付數 + 賸餘數) of a later month of the same year and kind are never below an earlier month's.
A file that lowers them is refused unless its row says it corrects earlier figures (the 更正 column).
A month reported while the month before it is missing, and a 執行數 above the 分配數, are warnings: they can
be right, and the budget officer decides.

Pure: the caller gathers one series per (programme, year, kind) from the database and the file.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from tracker.domain.money import format_amount

CORRECTION_HINT = "累計數不得減少；如為更正，請在「更正」欄填「是」"


def executed(paid: Decimal, payables: Decimal, savings: Decimal) -> Decimal:
    """執行數 = 實支數 + 應付未付數 + 賸餘數."""
    return paid + payables + savings


@dataclass(frozen=True)
class MonthPoint:
    """One month's cumulative figures of one programme, year and kind."""

    month: int
    allocated: Decimal
    #: 執行數 (實支 + 應付未付 + 賸餘)
    executed: Decimal
    #: The file's row number; None for figures already stored.
    row: int | None = None
    #: The row says it corrects earlier figures.
    is_correction: bool = False


@dataclass(frozen=True)
class Finding:
    """A refusal or a warning about one row of the file."""

    row: int
    #: "allocated" or "executed" (the figure concerned), or None for the row as a whole.
    field: str | None
    #: In Traditional Chinese, for a budget officer.
    reason: str


@dataclass(frozen=True)
class Findings:
    refusals: list[Finding]
    warnings: list[Finding]


_WHAT = {"allocated": "累計分配數", "executed": "執行數（實支＋應付未付＋賸餘）"}


def _merged(stored: Iterable[MonthPoint], in_file: Iterable[MonthPoint]) -> list[MonthPoint]:
    """The series as it would stand after the import: a file's month replaces the stored one."""
    by_month = {point.month: point for point in stored}
    by_month.update({point.month: point for point in in_file})
    return [by_month[month] for month in sorted(by_month)]


def _where(point: MonthPoint) -> str:
    return f"本檔第 {point.row} 列" if point.row is not None else "資料庫已有"


def check_series(stored: Iterable[MonthPoint], in_file: Iterable[MonthPoint],
                 over_allocated_tolerance_pct: Decimal = Decimal(0)) -> Findings:
    """Refusals and warnings for the file's months of one programme, year and kind.

    - a cumulative figure below the one of the nearest earlier month (stored or in the file) is refused on the
      later row; a file's month above a stored later month is refused on the file's row; a row marked as a
      correction is exempt;
    - a file's month M with some earlier month but not M−1 is a warning (a month skipped);
    - 執行數 above 分配數 by more than ``over_allocated_tolerance_pct`` percent is a warning.
    """
    file_points = list(in_file)
    series = _merged(stored, file_points)
    refusals: list[Finding] = []
    warnings: list[Finding] = []
    for earlier, later in pairwise(series):
        if earlier.row is None and later.row is None:
            continue  # both stored: not this file's doing
        for field in ("allocated", "executed"):
            before, after = getattr(earlier, field), getattr(later, field)
            if after >= before:
                continue
            what = _WHAT[field]
            if later.row is not None:
                if not later.is_correction:
                    source = "" if earlier.row is None else f"（{_where(earlier)}）"
                    refusals.append(Finding(later.row, field,
                                            f"{later.month} 月{what} {format_amount(after)} 千元低於 "
                                            f"{earlier.month} 月{source}的 {format_amount(before)} 千元"
                                            f"（{CORRECTION_HINT}）"))
            elif not earlier.is_correction:
                refusals.append(Finding(earlier.row, field,
                                        f"{earlier.month} 月{what} {format_amount(before)} 千元高於資料庫已有的 "
                                        f"{later.month} 月 {format_amount(after)} 千元（{CORRECTION_HINT}）"))
    months = [point.month for point in series]
    for point in file_points:
        earlier_months = [month for month in months if month < point.month]
        if earlier_months and point.month - 1 not in earlier_months:
            latest = max(earlier_months)
            warnings.append(Finding(point.row, None,
                                    f"尚無 {point.month - 1} 月的月報（最近一期是 {latest} 月）：是否漏報了一個月？"))
        warning = over_allocated(point, over_allocated_tolerance_pct)
        if warning is not None:
            warnings.append(warning)
    key = {"allocated": 0, "executed": 1, None: 2}
    return Findings(sorted(refusals, key=lambda f: (f.row, key[f.field])),
                    sorted(warnings, key=lambda f: (f.row, key[f.field])))


def over_allocated(point: MonthPoint, tolerance_pct: Decimal = Decimal(0)) -> Finding | None:
    """A warning when a file's 執行數 is above its 分配數 by more than ``tolerance_pct`` percent."""
    if point.row is None or point.executed <= point.allocated * (1 + tolerance_pct / 100):
        return None
    if point.allocated > 0:
        share = (point.executed / point.allocated * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        ratio = f"（{share}%）"
    else:
        ratio = ""
    return Finding(point.row, "executed",
                   f"執行數 {format_amount(point.executed)} 千元（實支＋應付未付＋賸餘）超過累計分配數 "
                   f"{format_amount(point.allocated)} 千元{ratio}：請確認分配數與實支數")
