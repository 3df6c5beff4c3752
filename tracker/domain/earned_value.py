"""Earned value (實獲值管理): PV, EV, AC and the variances, indices and forecasts drawn from them.

PMBOK / GAO-20-195G / MS Project field definitions (DOMAIN.md 「Earned value」):
PV = BAC × planned %; EV = BAC × actual %; SV = EV − PV; CV = EV − AC; SPI = EV ÷ PV; CPI = EV ÷ AC;
EAC = BAC ÷ CPI (typical); ETC = EAC − AC; VAC = BAC − EAC; TCPI = (BAC − EV) ÷ (BAC − AC).
A division by zero, or a missing input, gives None. Rolled-up figures add the amounts and divide at the end.
Pure: no clock, no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class EarnedValue:
    """A programme's (or a roll-up's) earned-value figures; amounts in the budget's unit, None when unknown."""

    #: Budget at completion (預算數; here the year's 可支用預算數).
    bac: Decimal | None = None
    #: Planned value (計畫價值) = BAC × planned %.
    pv: Decimal | None = None
    #: Earned value (實獲值) = BAC × actual %.
    ev: Decimal | None = None
    #: Actual cost (實際成本; here 執行數).
    ac: Decimal | None = None
    #: Schedule variance (時程差異) = EV − PV.
    sv: Decimal | None = None
    #: Cost variance (成本差異) = EV − AC.
    cv: Decimal | None = None
    #: Schedule performance index (時程績效指標) = EV ÷ PV.
    spi: Decimal | None = None
    #: Cost performance index (成本績效指標) = EV ÷ AC.
    cpi: Decimal | None = None
    #: Estimate at completion (完工估算) = BAC ÷ CPI.
    eac: Decimal | None = None
    #: Estimate to complete (完工尚需估算) = EAC − AC.
    etc: Decimal | None = None
    #: Variance at completion (完工差異) = BAC − EAC.
    vac: Decimal | None = None
    #: To-complete performance index (完工尚需績效指標) = (BAC − EV) ÷ (BAC − AC).
    tcpi: Decimal | None = None


def _minus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a - b


def _ratio(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None or b == 0 else a / b


def from_amounts(bac: Decimal | None, pv: Decimal | None, ev: Decimal | None,
                 ac: Decimal | None) -> EarnedValue:
    """Every earned-value figure from the four amounts BAC, PV, EV and AC (any may be None)."""
    cpi = _ratio(ev, ac)
    # EAC = BAC ÷ CPI, computed as BAC × AC ÷ EV (the same value) so no rounded CPI enters it
    eac = None if cpi is None or cpi == 0 or bac is None else bac * ac / ev
    return EarnedValue(
        bac=bac, pv=pv, ev=ev, ac=ac,
        sv=_minus(ev, pv), cv=_minus(ev, ac), spi=_ratio(ev, pv), cpi=cpi,
        eac=eac, etc=_minus(eac, ac), vac=_minus(bac, eac),
        tcpi=_ratio(_minus(bac, ev), _minus(bac, ac)),
    )


def earned_value(bac: Decimal | None, planned_pct: Decimal | None, actual_pct: Decimal | None,
                 ac: Decimal | None) -> EarnedValue:
    """A programme's earned value from its budget, planned and actual cumulative % (0–100) and actual cost."""
    pv = None if bac is None or planned_pct is None else bac * Decimal(planned_pct) / _HUNDRED
    ev = None if bac is None or actual_pct is None else bac * Decimal(actual_pct) / _HUNDRED
    return from_amounts(bac, pv, ev, ac)


def rollup(items: Iterable[EarnedValue]) -> EarnedValue:
    """Several programmes as one: BAC, PV, EV and AC summed, every ratio from the sums (never averaged).

    Only items with all four amounts known are added, so every figure of the roll-up speaks of the same
    programmes; with none, every figure is None.
    """
    complete = [i for i in items if None not in (i.bac, i.pv, i.ev, i.ac)]
    if not complete:
        return EarnedValue()
    zero = Decimal(0)
    return from_amounts(sum((i.bac for i in complete), zero), sum((i.pv for i in complete), zero),
                        sum((i.ev for i in complete), zero), sum((i.ac for i in complete), zero))
