"""The year end (年度結束): what a closing year's capital budget carries into the next year as 以前年度保留數.

Amounts are NT$ thousands (千元) as Decimal. Pure: no Flask, no SQLAlchemy, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tracker.domain.money import format_amount, parse_number

ZERO = Decimal(0)
#: Money is stored to NT$1: 0.001 千元.
MAX_DECIMAL_PLACES = 3
#: The reason a closed year's open alerts are resolved with (Alert.resolved_reason).
YEAR_END_REASON = "年度結束"


def proposed_carry_over(available: Decimal, executed: Decimal | None) -> Decimal | None:
    """The year-end unexecuted amount, proposed as next year's 以前年度保留數: max(可支用預算數 − 執行數, 0).

    None when December's 執行數 is unknown (no December figures): the officer must give the amount.
    """
    if executed is None:
        return None
    return max(available - executed, ZERO)


@dataclass(frozen=True)
class AmountCheck:
    """An officer's amount, parsed (``amount``), or why it is refused (``problem``, in words for the officer)."""

    amount: Decimal | None
    problem: str | None = None


def check_carry_over(text: str | Decimal | None, available: Decimal) -> AmountCheck:
    """An amount to carry over, as typed: a number of 千元, at least 0, at most the year's 可支用預算數."""
    if isinstance(text, Decimal):
        value = text
    else:
        if text is None or not str(text).strip():
            return AmountCheck(None, "請填保留數（千元）")
        value = parse_number(str(text))
        if value is None:
            return AmountCheck(None, f"保留數須為數字（千元），收到「{str(text)[:40]}」")
    if not value.is_finite():
        return AmountCheck(None, f"保留數須為數字（千元），收到「{str(text)[:40]}」")
    if value < 0:
        return AmountCheck(None, f"保留數不可為負數（收到 {format_amount(value)}）")
    if -value.normalize().as_tuple().exponent > MAX_DECIMAL_PLACES:
        return AmountCheck(None, f"保留數最多到小數第 {MAX_DECIMAL_PLACES} 位（千元）")
    if value > available:
        return AmountCheck(None, f"保留數 {format_amount(value)} 千元超過可支用預算數 {format_amount(available)} 千元")
    return AmountCheck(value + ZERO)
