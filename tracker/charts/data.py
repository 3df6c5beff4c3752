"""What the charts draw, as plain frozen dataclasses (no matplotlib, no SQLAlchemy): the services build them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tracker.domain.slippage import Light

#: Row kinds of the Gantt chart, from the outermost group to the innermost row.
ROW_KINDS = ("system", "work_plan", "project", "sub_plan")


@dataclass(frozen=True)
class MilestoneMark:
    """A milestone drawn as a diamond on its planned finish (預定完成日)."""

    planned_finish_on: date
    light: Light = Light.NONE
    name: str = ""


@dataclass(frozen=True)
class GanttRow:
    """One row of the Gantt chart: a group header (system, work plan) or a project or sub-plan bar."""

    kind: str  #: system, work_plan, project or sub_plan
    label: str  #: the name, with the phase fraction 「(1/3)」 when the project has one
    light: Light = Light.NONE  #: the worst light of its milestones (groups: of their projects)
    project_id: int | None = None  #: the project the row links to (/projects/<id>)
    system_code: str | None = None  #: the system section the row is listed under
    #: 基準期程: the plan's dates as first loaded (or the project's first..last ROC year without milestones)
    baseline_start_on: date | None = None
    baseline_finish_on: date | None = None
    #: 實際／預估期程: actual start (or planned start when not started) .. actual or forecast finish
    current_start_on: date | None = None
    current_finish_on: date | None = None
    is_started: bool = False  #: a milestone has an actual start
    is_finished: bool = False  #: every milestone is done (the finish is actual, not a forecast)
    milestones: tuple[MilestoneMark, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"row kind must be one of {ROW_KINDS}, not {self.kind!r}")

    @property
    def is_group(self) -> bool:
        """A system or work-plan header rather than a project."""
        return self.kind in ("system", "work_plan")

    @property
    def level(self) -> int:
        """Indentation: 0 for a system … 3 for a sub-plan."""
        return ROW_KINDS.index(self.kind)


@dataclass(frozen=True)
class GanttData:
    """The rows of a Gantt chart, in the order drawn (top to bottom), judged on one date."""

    as_of: date
    rows: tuple[GanttRow, ...]
    title: str = "重要計畫期程甘特圖"
    subtitle: str = ""  #: the filters in force, in words

    @property
    def bar_rows(self) -> tuple[GanttRow, ...]:
        """The project and sub-plan rows, without group headers."""
        return tuple(r for r in self.rows if not r.is_group)


@dataclass(frozen=True)
class MonthPoint:
    """Cumulative figures at a month's end (千元)."""

    month: int
    allocated: Decimal  #: 累計分配數
    executed: Decimal  #: 累計執行數 = 實支數 + 應付未付數 + 賸餘數


@dataclass(frozen=True)
class SCurveData:
    """The S-curve of one year: cumulative allocation and execution by month, the target and the forecast."""

    title: str
    year_roc: int
    kind: str  #: capital (資本門) or current (經常門)
    available: Decimal  #: 可支用預算數 (千元)
    points: tuple[MonthPoint, ...]  #: months with figures, ascending
    target_pct: Decimal = Decimal(90)  #: KPI 九-1 target
    forecast_executed: Decimal | None = None  #: forecast 執行數 at year end (千元)
    forecast_rate: Decimal | None = None  #: forecast year-end execution rate (%)
    is_synthetic: bool = False  #: demo figures (模擬資料)

    @property
    def target_amount(self) -> Decimal:
        """The amount that reaches the target: target % of the available budget."""
        return self.available * self.target_pct / Decimal(100)


@dataclass(frozen=True)
class RateBar:
    """One group's rates (%), unrounded; None when the denominator is zero."""

    label: str
    allocation_rate: Decimal | None  #: 分配預算執行率
    achievement_rate: Decimal | None  #: 經費達成率


@dataclass(frozen=True)
class RateBarsData:
    """Execution rates by system and by category for one month."""

    title: str
    year_roc: int
    month: int | None
    kind: str
    by_system: tuple[RateBar, ...]
    by_category: tuple[RateBar, ...]
    target_pct: Decimal = Decimal(90)
    low_rate_pct: Decimal = Decimal(80)  #: 行政院: 分配預算執行率 below 80% is reviewed
    is_synthetic: bool = False
