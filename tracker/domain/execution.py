"""Budget execution: the official ratios (DOMAIN.md「Money」), the year-end forecast and the alert rules.

Amounts are NT$ thousands (千元) as Decimal; rates are percentages as Decimal, unrounded (round
only for display), and None when the denominator is zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Iterable

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def rate(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator ÷ denominator × 100%, or None when there is nothing to divide by."""
    if denominator is None or denominator == 0:
        return None
    return numerator * HUNDRED / denominator


def round_rate(value: Decimal | None, places: int = 2) -> Decimal | None:
    """A rate rounded half-up for display (two decimals by default)."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    """Budget and cumulative month-end figures of a project or of a group (sums)."""

    available: Decimal = ZERO  #: 可支用預算數 = 原預算 + 追加預算 + 以前年度保留數
    allocated: Decimal = ZERO  #: 累計分配數
    paid: Decimal = ZERO  #: 累計實支數
    payables: Decimal = ZERO  #: 應付未付數
    savings: Decimal = ZERO  #: 累計賸餘數

    @property
    def executed(self) -> Decimal:
        """執行數 = 實支數 + 應付未付數 + 賸餘數."""
        return self.paid + self.payables + self.savings

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.available + other.available, self.allocated + other.allocated, self.paid + other.paid,
            self.payables + other.payables, self.savings + other.savings,
        )


def available_budget(original: Decimal, supplementary: Decimal, carried_over: Decimal) -> Decimal:
    """可支用預算數: the original, supplementary and carried-over budget together."""
    return original + supplementary + carried_over


def total(figures: Iterable[Figures]) -> Figures:
    """The sum of several projects' figures: a rollup adds amounts, never rates."""
    result = Figures()
    for item in figures:
        result = result + item
    return result


@dataclass(frozen=True)
class Rates:
    """The ratios reported side by side during the year."""

    executed: Decimal  #: 執行數
    allocation_rate: Decimal | None  #: 分配預算執行率 = 執行數 ÷ 分配數
    achievement_rate: Decimal | None  #: 經費達成率 = 執行數 ÷ 可支用預算數 (KPI 九-1 at year end)
    spend_rate: Decimal | None  #: 支用率 = 實支數 ÷ 分配數 (payables excluded)
    allocated_unexecuted: Decimal  #: 已分配未執行數 = 分配數 − 執行數


def rates(f: Figures) -> Rates:
    """Every official ratio of a set of figures."""
    executed = f.executed
    return Rates(
        executed=executed,
        allocation_rate=rate(executed, f.allocated),
        achievement_rate=rate(executed, f.available),
        spend_rate=rate(f.paid, f.allocated),
        allocated_unexecuted=f.allocated - executed,
    )


@dataclass(frozen=True)
class Forecast:
    """Where the year is heading and what it takes to reach the target."""

    rate: Decimal | None  #: forecast year-end execution rate (% of the available budget)
    executed_at_year_end: Decimal | None
    remaining_months: int
    #: 每月尚需執行: what must be executed in each remaining month to reach the target, in whole 千元
    #: (0 when reached; in December, the whole shortfall)
    needed_per_month: Decimal | None


def forecast(now: Figures, earlier: Figures | None, month: int, earlier_month: int,
             target_pct: Decimal) -> Forecast:
    """Forecast the year-end execution rate from the months so far and the allocation schedule.

    The whole available budget is allocated by December (the allocation schedule runs to the year's
    end), so what is still to be allocated is ``available − allocated``. The recent pace — the share of
    the allocations since ``earlier_month`` that was executed — is applied to it; where nothing was
    allocated in that window the share over the whole year so far is used. Before anything is
    allocated there is nothing to forecast from.
    """
    remaining = 12 - month
    target_amount = now.available * target_pct / HUNDRED
    still_needed = max(ZERO, target_amount - now.executed)
    needed = None
    if now.available > 0:
        # rounded up to a whole 千元: executing the rounded amount each month does reach the target
        needed = (still_needed if remaining == 0 else still_needed / remaining).quantize(Decimal(1), rounding=ROUND_CEILING)
    if now.allocated == 0 or now.available == 0:
        return Forecast(None, None, remaining, needed)
    share = now.executed / now.allocated
    if earlier is not None and earlier_month < month:
        allocated_since = now.allocated - earlier.allocated
        if allocated_since > 0:
            share = (now.executed - earlier.executed) / allocated_since
    share = min(max(share, ZERO), Decimal(1))
    to_allocate = max(ZERO, now.available - now.allocated)
    at_year_end = now.executed if remaining == 0 else now.executed + share * to_allocate
    return Forecast(rate(at_year_end, now.available), at_year_end, remaining, needed)


@dataclass(frozen=True)
class ExecutionThresholds:
    """Policy thresholds (configuration; defaults from DOMAIN.md)."""

    target_pct: Decimal = Decimal(90)  #: KPI 九-1 target
    low_rate_pct: Decimal = Decimal(80)  #: 行政院: 執行數 ÷ 分配數 below 80% …
    low_unexecuted: Decimal = Decimal(100_000)  #: … and 已分配未執行數 above NT$100 million (100,000 千元)


def is_low_execution(r: Rates, t: ExecutionThresholds) -> bool:
    """LOW_EXECUTION: 分配預算執行率 below the threshold and 已分配未執行數 above the amount."""
    return r.allocation_rate is not None and r.allocation_rate < t.low_rate_pct and r.allocated_unexecuted > t.low_unexecuted


def is_below_target(f: Forecast, t: ExecutionThresholds) -> bool:
    """BELOW_TARGET: the forecast year-end rate falls short of the target."""
    return f.rate is not None and f.rate < t.target_pct
