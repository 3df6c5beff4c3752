"""ROC (民國) calendar: parse what users type and show what they read; store ISO dates."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

#: 民國元年 is 1912, so ROC year = Gregorian year - 1911 (106 = 2017).
ROC_OFFSET = 1911


class RocDateError(ValueError):
    """A date string that is neither an ROC nor an ISO date."""


def to_roc_year(year: int) -> int:
    """Gregorian year -> ROC year (2017 -> 106)."""
    return year - ROC_OFFSET


def from_roc_year(roc_year: int) -> int:
    """ROC year -> Gregorian year (106 -> 2017)."""
    return roc_year + ROC_OFFSET


def month_end(year: int, month: int) -> date:
    """Last day of a Gregorian month."""
    return date(year, month, calendar.monthrange(year, month)[1])


#: The ROC years the tracker accepts anywhere (a year typed, a query argument, a file's 年度 column).
ROC_YEAR_MIN, ROC_YEAR_MAX = 1, 300


def is_roc_year(value: int) -> bool:
    """Whether a whole number is an ROC year the tracker accepts (1–300)."""
    return isinstance(value, int) and not isinstance(value, bool) and ROC_YEAR_MIN <= value <= ROC_YEAR_MAX


def roc_month_start(year_roc: int, month: int) -> date:
    """The first day of an ROC month (106, 9 -> 2017-09-01)."""
    return date(from_roc_year(year_roc), month, 1)


def roc_month_end(year_roc: int, month: int) -> date:
    """The last day of an ROC month (106, 9 -> 2017-09-30)."""
    return month_end(from_roc_year(year_roc), month)


def previous_month(day: date) -> tuple[int, int]:
    """The month before the one a day falls in, as (ROC year, month): the month a report on that day is for."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return to_roc_year(year), month


def format_roc_date(d: date | None) -> str:
    """2017-07-15 -> 「106年7月15日」; None -> 「—」."""
    if d is None:
        return "—"
    return f"{to_roc_year(d.year)}年{d.month}月{d.day}日"


def format_roc_month(d: date | None) -> str:
    """2017-07-15 -> 「106年7月」; None -> 「—」."""
    if d is None:
        return "—"
    return f"{to_roc_year(d.year)}年{d.month}月"


def format_roc_span(start: date | None, finish: date | None) -> str:
    """A planned span as users read it: whole months as 「106年1月至3月」, else exact days."""
    if start is None and finish is None:
        return "—"
    if start is None or finish is None:
        return format_roc_date(start or finish)
    whole_months = start.day == 1 and finish == month_end(finish.year, finish.month)
    if not whole_months:
        if start == finish:
            return format_roc_date(start)
        return f"{format_roc_date(start)}至{format_roc_date(finish)}"
    if start.month == 1 and finish.month == 12:
        if start.year == finish.year:
            return f"{to_roc_year(start.year)}年"
        return f"{to_roc_year(start.year)}至{to_roc_year(finish.year)}年"
    if start.year == finish.year:
        if start.month == finish.month:
            return format_roc_month(start)
        return f"{to_roc_year(start.year)}年{start.month}月至{finish.month}月"
    return f"{format_roc_month(start)}至{format_roc_month(finish)}"


_ROC_PATTERNS = (
    # 106/7/15, 106-7-15, 106.7.2
    re.compile(r"^\s*(\d{2,3})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*$"),
    # 106年7月15日 (spaces allowed, optional 民國 prefix)
    re.compile(r"^\s*(?:民國)?\s*(\d{2,3})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$"),
)
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_date(text: str) -> date:
    """Read a date typed as ROC (106/7/15, 106年7月15日, 106.7.2) or ISO (2017-07-15)."""
    if text is None or not str(text).strip():
        raise RocDateError("請輸入日期")
    text = str(text)
    m = _ISO.match(text)
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        for pattern in _ROC_PATTERNS:
            m = pattern.match(text)
            if m:
                roc_year, month, day = (int(g) for g in m.groups())
                year = from_roc_year(roc_year)
                break
        else:
            raise RocDateError(f"無法辨識的日期「{text.strip()}」：請以 106/7/15、106年7月15日 或 2017-07-15 輸入")
    try:
        return date(year, month, day)
    except ValueError:
        raise RocDateError(f"日期不存在：「{text.strip()}」") from None


@dataclass(frozen=True)
class RocMonth:
    """A month named the ROC way (106-09 is September 2017)."""

    year: int
    month: int

    @property
    def roc_year(self) -> int:
        """The ROC year of this month."""
        return to_roc_year(self.year)

    @property
    def first_day(self) -> date:
        """The first day of the month."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """The last day of the month."""
        return month_end(self.year, self.month)

    def __str__(self) -> str:
        return f"{self.roc_year}-{self.month:02d}"


def parse_roc_month(text: str) -> RocMonth:
    """Read 106-09, 106/9, 106年9月 or 2017-09 as a month."""
    m = re.match(r"^\s*(?:民國)?\s*(\d{2,4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?\s*$", text or "")
    if not m:
        raise RocDateError(f"無法辨識的月份「{text}」：請以 106-09 或 106年9月 輸入")
    year, month = int(m.group(1)), int(m.group(2))
    if year < 1000:
        year = from_roc_year(year)
    if not 1 <= month <= 12:
        raise RocDateError(f"月份須為 1 至 12：「{text}」")
    return RocMonth(year, month)
