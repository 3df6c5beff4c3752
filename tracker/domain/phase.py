"""Phase fractions such as (1/3): this year is year 1 of a 3-year plan."""
from __future__ import annotations

import re
from dataclasses import dataclass

_FRACTION = re.compile(r"[（(]\s*(\d+)\s*/\s*(\d+)\s*[)）]")


class PhaseError(ValueError):
    """A phase fraction that cannot be."""


@dataclass(frozen=True)
class Phase:
    """Year ``index`` of a ``total``-year plan (第 index 年／共 total 年)."""

    index: int
    total: int

    def __post_init__(self) -> None:
        if self.total < 1 or not 1 <= self.index <= self.total:
            raise PhaseError(f"期別 {self.index}/{self.total} 不合理：第幾年須介於 1 與總年數之間")

    @property
    def label(self) -> str:
        """「第 1 年／共 3 年」 as the project page shows it."""
        return f"第 {self.index} 年／共 {self.total} 年"

    @property
    def fraction(self) -> str:
        """「(1/3)」 as the plan writes it."""
        return f"({self.index}/{self.total})"

    def years(self, plan_roc_year: int) -> tuple[int, int]:
        """First and last ROC year of the plan, given the year this phase belongs to."""
        first = plan_roc_year - (self.index - 1)
        return first, first + self.total - 1


def parse_phase(name: str) -> Phase | None:
    """Find the phase fraction in a name as the plan writes it ((1/3) or （1/4）); None if absent."""
    m = _FRACTION.search(name or "")
    if not m:
        return None
    return Phase(int(m.group(1)), int(m.group(2)))


def phase_label(index: int | None, total: int | None) -> str:
    """「第 i 年／共 n 年」, or 「—」 when the project has no phase."""
    if index is None or total is None:
        return "—"
    return Phase(index, total).label
