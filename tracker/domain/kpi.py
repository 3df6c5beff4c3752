"""KPI lights: a year's actual against the target, in the KPI's direction (at least / at most)."""
from __future__ import annotations

from decimal import Decimal

from tracker.domain.slippage import Light

HUNDRED = Decimal(100)


def kpi_light(direction: str, target: Decimal, actual: Decimal | None, near_miss_pct: Decimal = Decimal(5)) -> Light:
    """Green when the target is met; yellow when missed by no more than the near-miss share; else red."""
    if actual is None:
        return Light.NONE
    margin = abs(target) * near_miss_pct / HUNDRED
    if direction == "at_most":
        if actual <= target:
            return Light.GREEN
        return Light.YELLOW if actual <= target + margin else Light.RED
    if actual >= target:
        return Light.GREEN
    return Light.YELLOW if actual >= target - margin else Light.RED
