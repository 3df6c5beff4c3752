"""Plan years: which years are loaded, the year a page shows, each year's entries, and the closed-year rule."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.errors import FieldError
from tracker.domain.roc import to_roc_year
from tracker.models import Kpi, KpiTarget, Plan, PlanEntry, PlanEntryKpi, PlanEntryMilestone, Project
from tracker.services import audit


class YearClosedError(FieldError):
    """A write into a year that has been closed (年度結束); ``field`` names the year's parameter."""


def loaded_years(session: so.Session) -> list[int]:
    """The ROC years with a plan, oldest first."""
    return list(session.scalars(sa.select(Plan.year_roc).order_by(Plan.year_roc)))


def get_plan(session: so.Session, year_roc: int) -> Plan | None:
    """Year Y's plan, or None."""
    return session.get(Plan, year_roc)


def default_year(session: so.Session, as_of: date, fallback: int | None = None) -> int:
    """The year a page shows when none is asked for: the reporting date's, or the latest plan year before it
    when that year has no plan (the earliest when every plan is later; ``fallback`` when none is loaded)."""
    wanted = to_roc_year(as_of.year)
    years = loaded_years(session)
    if not years:
        return fallback if fallback is not None else wanted
    if wanted in years:
        return wanted
    earlier = [y for y in years if y < wanted]
    return earlier[-1] if earlier else years[0]


def closed_years(session: so.Session) -> set[int]:
    """The years that have been closed."""
    return set(session.scalars(sa.select(Plan.year_roc).where(Plan.closed_at.is_not(None))))


def is_closed(session: so.Session, year_roc: int) -> bool:
    """Whether year Y has been closed (its figures, budgets and reports are read-only)."""
    return session.scalar(sa.select(Plan.closed_at).where(Plan.year_roc == year_roc)) is not None


def closed_message(year_roc: int) -> str:
    """What a refused write into a closed year says."""
    return f"民國 {year_roc} 年度已辦理年度結束，其預算、執行數字與月報不能再變更"


def ensure_open(session: so.Session, year_roc: int, field: str = "year") -> None:
    """Refuse a write into a closed year: the one check every writer of figures, budgets and reports calls."""
    if is_closed(session, year_roc):
        raise YearClosedError(field, closed_message(year_roc))


def entries_of_year(session: so.Session, year_roc: int, project_ids: list[int] | None = None) -> dict[int, PlanEntry]:
    """Year Y's entries by project id (all of them, or those of the projects given)."""
    query = sa.select(PlanEntry).where(PlanEntry.year_roc == year_roc).options(
        so.selectinload(PlanEntry.kpi_links), so.selectinload(PlanEntry.milestone_links))
    if project_ids is not None:
        if not project_ids:
            return {}
        query = query.where(PlanEntry.project_id.in_(project_ids))
    return {e.project_id: e for e in session.scalars(query)}


def projects_in_year(year_roc: int) -> sa.Select:
    """The ids of the projects year Y's plan lists (a subquery for filters)."""
    return sa.select(PlanEntry.project_id).where(PlanEntry.year_roc == year_roc)


def latest_entry_years(session: so.Session, project_ids: list[int]) -> dict[int, int]:
    """Each project's latest plan year."""
    if not project_ids:
        return {}
    return dict(session.execute(sa.select(PlanEntry.project_id, sa.func.max(PlanEntry.year_roc))
                                .where(PlanEntry.project_id.in_(project_ids)).group_by(PlanEntry.project_id)).all())


def show_entry(project: Project, entry: PlanEntry) -> None:
    """Set a project's current columns from its latest entry (what every page shows when no year is asked for)."""
    project.seq = entry.seq
    project.code = entry.code
    project.name = entry.name
    project.name_as_written = entry.name_as_written
    project.work_plan_id = entry.work_plan_id
    project.category = entry.category
    project.phase_index = entry.phase_index
    project.phase_total = entry.phase_total
    project.sub_code = entry.sub_code
    project.agency = entry.agency
    project.description = entry.description
    project.content = entry.content


def ensure_plan(session: so.Session, year_roc: int, title: str, who: audit.Who, *, source_name: str = "",
                sha256: str | None = None, goals: list | None = None) -> Plan:
    """Year Y's plan row, created when missing."""
    plan = session.get(Plan, year_roc)
    if plan is None:
        plan = Plan(year_roc=year_roc, title=title, source_name=source_name, sha256=sha256, goals=goals or [],
                    loaded_by=who.name)
        session.add(plan)
        session.flush()
    return plan


def record_kpi_target(session: so.Session, kpi: Kpi, year_roc: int) -> KpiTarget:
    """Write a KPI's current values as year Y's target (created or updated)."""
    target = session.get(KpiTarget, (kpi.id, year_roc))
    values = {"code": kpi.code, "goal_no": kpi.goal_no, "goal": kpi.goal, "no": kpi.no, "name": kpi.name,
              "measure": kpi.measure, "target_value": kpi.target_value, "target_text": kpi.target_text,
              "unit": kpi.unit, "direction": kpi.direction, "evaluation_system": kpi.evaluation_system,
              "evaluation_method": kpi.evaluation_method, "related_plan_categories": list(kpi.related_plan_categories or [])}
    if target is None:
        target = KpiTarget(kpi_id=kpi.id, year_roc=year_roc, **values)
        session.add(target)
    else:
        for name, value in values.items():
            if getattr(target, name) != value:
                setattr(target, name, value)
    return target


def record_entry_from_project(session: so.Session, project: Project, year_roc: int) -> PlanEntry:
    """Write a project's current columns, KPI links and milestones as its entry of year Y (the JSON seed's path)."""
    entry = session.scalar(sa.select(PlanEntry).where(PlanEntry.project_id == project.id, PlanEntry.year_roc == year_roc))
    if entry is None:
        entry = PlanEntry(project_id=project.id, year_roc=year_roc, seq=project.seq, name=project.name,
                          name_as_written=project.name_as_written, work_plan_id=project.work_plan_id,
                          category=project.category)
        session.add(entry)
    for name in ("seq", "code", "name", "name_as_written", "work_plan_id", "category", "phase_index", "phase_total",
                 "sub_code", "agency", "description", "content"):
        value = getattr(project, name)
        if name in ("description", "content"):
            value = value or ""
        if getattr(entry, name) != value:
            setattr(entry, name, value)
    links = [(link.kpi_id, link.written_name) for link in project.kpi_links]
    if [(link.kpi_id, link.written_name) for link in entry.kpi_links] != links:
        entry.kpi_links.clear()
        session.flush()
        entry.kpi_links.extend(PlanEntryKpi(kpi_id=k, written_name=n, position=i) for i, (k, n) in enumerate(links))
    milestone_ids = [m.id for m in project.milestones]
    if [link.milestone_id for link in entry.milestone_links] != milestone_ids:
        entry.milestone_links.clear()
        session.flush()
        entry.milestone_links.extend(PlanEntryMilestone(milestone_id=m, position=i) for i, m in enumerate(milestone_ids))
    return entry


#: What an entry says of its programme in its year; everything else is the programme's own.
ENTRY_FIELDS = frozenset({"seq", "code", "name", "name_as_written", "category", "phase_index", "phase_total",
                          "sub_code", "agency", "description", "content", "work_plan", "work_plan_id", "kpi_links"})


class InYear:
    """A project as year Y's plan lists it: the entry's 序號, name, phase, category, work plan, KPI links and
    dated steps over the programme's identity (its id, systems, years, reports and figures). Read-only."""

    def __init__(self, project: Project, entry: PlanEntry | None, year_roc: int,
                 sub_plans: list[InYear] | None = None):
        self._project = project
        self._entry = entry
        self.year_roc = year_roc
        self._sub_plans = sub_plans

    @property
    def programme_id(self) -> int:
        """The programme's id, the same in every year."""
        return self._project.id

    @property
    def entry(self) -> PlanEntry | None:
        """The year's entry (None when the year's plan does not list the project)."""
        return self._entry

    @property
    def project(self) -> Project:
        """The programme itself."""
        return self._project

    @property
    def milestones(self) -> list:
        """The dated steps the year's plan lists, in its order (all of the programme's without an entry)."""
        if self._entry is None:
            return self._project.milestones
        by_id = {m.id: m for m in self._project.milestones}
        return [by_id[link.milestone_id] for link in self._entry.milestone_links if link.milestone_id in by_id]

    @property
    def sub_plans(self) -> list:
        """The sub-plans the year's plan lists."""
        return self._sub_plans if self._sub_plans is not None else self._project.sub_plans

    def __getattr__(self, name: str):
        if name in ENTRY_FIELDS and self._entry is not None:
            return getattr(self._entry, name)
        return getattr(self._project, name)


def in_year(session: so.Session, projects: list[Project], year_roc: int | None) -> list:
    """Projects as year Y lists them (with their sub-plans of that year); the projects as they are without a year."""
    if year_roc is None or not projects:
        return list(projects)
    children = [c for p in projects for c in (p.sub_plans if "sub_plans" in p.__dict__ else [])]
    entries = entries_of_year(session, year_roc, [p.id for p in projects] + [c.id for c in children])
    out = []
    for p in projects:
        subs = None
        if "sub_plans" in p.__dict__:
            subs = [InYear(c, entries[c.id], year_roc) for c in p.sub_plans if c.id in entries]
        out.append(InYear(p, entries.get(p.id), year_roc, subs))
    return out
