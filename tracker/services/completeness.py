"""Completeness of a month (填報情形): which programmes have reported their progress, in which state, and which
have month-end figures, with the list of who has not and the managers who answer for them.

A month's rates are stated with how many programmes they cover (「已報 31／33」); this is where those counts
come from. Counts are aggregated in SQL and every list is read in a fixed handful of queries, however many
programmes there are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.errors import FieldError
from tracker.domain.labels import REPORT_STATE_LABELS
from tracker.models import Budget, MonthEnd, ProgressReport, Project, System, User, project_systems
from tracker.services.execution import dataset
from tracker.services.systems import find_system_id

#: The kind whose month-end report (月報) completeness counts: 資本門, as the execution table's default.
FIGURES_KIND = "capital"


class CompletenessQueryError(FieldError):
    """A query argument that names nothing (an unknown system); ``field`` is the argument."""


@dataclass(frozen=True)
class MissingProgramme:
    """A due programme that lacks its month's progress report, its approval, or its month-end figures."""

    id: int
    name: str
    seq: int
    #: Names of the programme's systems, in the systems' order.
    systems: tuple[str, ...]
    #: Names of the active project managers of those systems: a programme has no manager of its own, so the
    #: managers of its systems are the ones who answer for it.
    managers: tuple[str, ...]
    #: unreported (未填報), submitted (已送出), returned (退回) or approved (已核定); None when no progress is due.
    progress_state: str | None
    #: Whether month-end figures exist for the month; None when the programme has no capital budget that year.
    has_figures: bool | None

    @property
    def progress_label(self) -> str:
        """The state's word (未填報 …), or 「—」 when no progress report is due."""
        return REPORT_STATE_LABELS[self.progress_state] if self.progress_state else "—"


@dataclass(frozen=True)
class Completeness:
    """Who has reported a month: progress reports (進度) and month-end figures (資本門月報)."""

    year_roc: int
    month: int
    #: Programmes (top-level) that run this year.
    progress_due: int
    #: Of those, with at least one revision for the month.
    progress_reported: int
    #: Of those, whose latest revision for the month is approved.
    progress_approved: int
    #: Programmes with a capital budget for the year.
    figures_due: int
    #: Of those, with month-end figures for the month (the year's dataset: imported, or the demo's).
    figures_reported: int
    #: Every due programme lacking a report or figures, in plan order.
    missing: tuple[MissingProgramme, ...] = ()
    #: Programmes that reported but whose latest revision is not approved yet (submitted or returned), with their
    #: figures present (those lacking figures are in ``missing``).
    unapproved: tuple[MissingProgramme, ...] = ()
    #: {programme id: state} for every programme whose progress is due.
    states: dict[int, str] = field(default_factory=dict)
    #: Whether the figures counted are the synthetic demo's.
    is_synthetic: bool = False

    @property
    def line(self) -> str:
        """「10 月進度已報 31／57，已核定 20；資本門月報已報 30／33」."""
        return (f"{self.month} 月進度已報 {self.progress_reported}／{self.progress_due}，"
                f"已核定 {self.progress_approved}；資本門月報已報 {self.figures_reported}／{self.figures_due}")

    @property
    def outstanding(self) -> tuple[MissingProgramme, ...]:
        """Everyone with something left to do this month: the missing, then the unapproved, in plan order."""
        return tuple(sorted(self.missing + self.unapproved, key=lambda p: (p.seq, p.id)))


def _latest_states(year_roc: int, month: int):
    """A subquery: each project's state for the month, that of its latest revision."""
    latest = (sa.select(ProgressReport.project_id, sa.func.max(ProgressReport.revision).label("revision"))
              .where(ProgressReport.year_roc == year_roc, ProgressReport.month == month)
              .group_by(ProgressReport.project_id).subquery("latest"))
    return (sa.select(ProgressReport.project_id, ProgressReport.state)
            .join(latest, sa.and_(latest.c.project_id == ProgressReport.project_id,
                                  latest.c.revision == ProgressReport.revision))
            .where(ProgressReport.year_roc == year_roc, ProgressReport.month == month)
            .subquery("month_state"))


def month_completeness(session: so.Session, year_roc: int, month: int, system: str | None = None) -> Completeness:
    """Count and list who has reported a month's progress and figures; ``system`` narrows to one system."""
    if not 1 <= month <= 12:
        raise CompletenessQueryError("month", "月份須為 1 至 12")
    synthetic = bool(dataset(session, year_roc))
    # Each a single pass over the month's (or year's) rows, joined to the programmes by id: the engine can hash
    # them, where a correlated EXISTS per programme would be judged per row.
    state = _latest_states(year_roc, month)
    budgeted = (sa.select(Budget.project_id).where(Budget.year_roc == year_roc, Budget.kind == FIGURES_KIND,
                                                   Budget.is_synthetic.is_(synthetic))
                .group_by(Budget.project_id).subquery("budgeted"))
    figured = (sa.select(MonthEnd.project_id).where(MonthEnd.year_roc == year_roc, MonthEnd.month == month,
                                                    MonthEnd.kind == FIGURES_KIND,
                                                    MonthEnd.is_synthetic.is_(synthetic))
               .group_by(MonthEnd.project_id).subquery("figured"))
    has_budget = budgeted.c.project_id.is_not(None)
    has_figures = figured.c.project_id.is_not(None)
    runs = sa.and_(Project.first_year_roc <= year_roc, Project.last_year_roc >= year_roc)
    where = [Project.parent_id.is_(None)]
    if system:
        system_id = find_system_id(session, system)
        if system_id is None:
            raise CompletenessQueryError("system", f"沒有名為「{system}」的系統")
        where.append(Project.id.in_(sa.select(project_systems.c.project_id)
                                    .where(project_systems.c.system_id == system_id)))
    # The lists of systems and managers cover every programme (of the system): cheaper than judging which are due.
    systems, managers = _systems_and_managers(session, where)
    where = [*where, sa.or_(runs, has_budget)]

    def programmes(query: sa.Select) -> sa.Select:
        """A query over the due programmes, with what each has for the month."""
        return (query.outerjoin(budgeted, budgeted.c.project_id == Project.id)
                .outerjoin(figured, figured.c.project_id == Project.id)
                .outerjoin(state, state.c.project_id == Project.id).where(*where))

    # One row per due programme: whether progress and figures are due, and what there is.
    rows_query = programmes(sa.select(Project.id, Project.name, Project.seq, runs.label("runs"),
                                      has_budget.label("has_budget"), has_figures.label("has_figures"),
                                      state.c.state))
    due = rows_query.subquery("due")
    one, zero = sa.literal(1), sa.literal(0)

    def count(*conditions):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), one), else_=zero)), zero)

    counts = session.execute(sa.select(
        count(due.c.runs),
        count(due.c.runs, due.c.state.is_not(None)),
        count(due.c.runs, due.c.state == "approved"),
        count(due.c.has_budget),
        count(due.c.has_budget, due.c.has_figures),
    )).one()

    states: dict[int, str] = {}
    behind: list[tuple] = []  # (id, name, seq, state, figures, is it missing?)
    for pid, name, seq, is_running, is_budgeted, is_figured, month_state in session.execute(
            rows_query.order_by(Project.seq, Project.id)).all():
        progress_state = (month_state or "unreported") if is_running else None
        if progress_state is not None:
            states[pid] = progress_state
        figures = bool(is_figured) if is_budgeted else None
        lacking = progress_state == "unreported" or figures is False
        if lacking or progress_state in ("submitted", "returned"):
            behind.append((pid, name, seq, progress_state, figures, lacking))

    missing, unapproved = [], []
    for pid, name, seq, progress_state, figures, lacking in behind:
        entry = MissingProgramme(pid, name, seq, tuple(systems.get(pid, ())), tuple(managers.get(pid, ())),
                                 progress_state, figures)
        (missing if lacking else unapproved).append(entry)
    return Completeness(year_roc, month, *(int(c) for c in counts), missing=tuple(missing),
                        unapproved=tuple(unapproved), states=states, is_synthetic=synthetic)


def _systems_and_managers(session: so.Session, where: list) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Each programme's system names and its systems' active project managers, in two queries."""
    systems: dict[int, list[str]] = {}
    for pid, name in session.execute(
            sa.select(Project.id, System.name).join(project_systems, project_systems.c.project_id == Project.id)
            .join(System, System.id == project_systems.c.system_id).where(*where)
            .order_by(Project.id, System.sort_order, System.id)).all():
        systems.setdefault(pid, []).append(name)
    managers: dict[int, list[str]] = {}
    for pid, name in session.execute(
            sa.select(Project.id, User.name).join(project_systems, project_systems.c.project_id == Project.id)
            .join(User, User.system_id == project_systems.c.system_id)
            .where(*where, User.role == "project_manager", User.is_active.is_(True))
            .distinct().order_by(Project.id, User.name)).all():
        managers.setdefault(pid, []).append(name)
    return systems, managers
