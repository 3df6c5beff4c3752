"""Read the portfolio: the grouped list, one project, the KPIs. Aggregates in SQL, no query per row."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import CATEGORIES, Kpi, Milestone, PlanEntry, Project, ProjectKpi, System, WorkPlan, project_systems
from tracker.domain.errors import FieldError
from tracker.domain.roc import is_roc_year
from tracker.services import plan_years
from tracker.services.systems import find_system_id, system_is


class FilterError(FieldError):
    """A filter value that names nothing; ``field`` is the query parameter."""


@dataclass(frozen=True)
class PortfolioFilter:
    """What the user narrowed the portfolio to."""

    system: str | None = None  #: system code
    category: str | None = None
    year: int | None = None  #: ROC year whose plan lists the project
    q: str | None = None  #: words in the name of the project, a sub-plan or the work plan

    @classmethod
    def of(cls, system: str | None = None, category: str | None = None, year: int | None = None,
           q: str | None = None) -> PortfolioFilter:
        """A filter from typed values (words trimmed); a category that names nothing is a FilterError."""
        category = (category or "").strip() or None
        if category and category not in CATEGORIES:
            raise FilterError("category", f"計畫類別須為 {'、'.join(CATEGORIES)} 之一")
        return cls(system=(system or "").strip() or None, category=category, year=year,
                   q=(q or "").strip()[:100] or None)

    @classmethod
    def from_args(cls, args) -> PortfolioFilter:
        """Read filters from query parameters; a bad value is a FilterError naming the parameter.

        Pages parse with tracker.web.portfolio.portfolio_filter and call ``of``; this stays for the API and the Gantt.
        """
        year_text = (args.get("year") or "").strip()
        year = None
        if year_text:
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses
            if not (year_text.isascii() and year_text.isdigit() and len(year_text) <= 3) or not is_roc_year(int(year_text)):
                raise FilterError("year", f"年度須為民國年（例如 106），而非「{year_text}」")
            year = int(year_text)
        return cls.of(system=args.get("system"), category=args.get("category"), year=year, q=args.get("q"))


def body_cache_key(session: so.Session, args: Iterable[tuple[str, str]], as_of: date, language: str) -> tuple:
    """The key of a rendered portfolio body: the database it reads, the query arguments, the date, the language."""
    # The database's URL is in the key because one process may serve several databases (the tests do).
    return (str(session.get_bind().url), tuple(sorted(args)), as_of, language)


@dataclass(frozen=True)
class PortfolioRow:
    """One project under one of its systems."""

    system_name: str
    system_code: str
    work_plan: str
    project: Project
    sub_plan_count: int
    milestone_count: int
    system_id: int = 0


@dataclass
class PortfolioPage:
    """One page of the grouped portfolio."""

    rows: list[PortfolioRow]
    total: int
    page: int
    page_size: int
    systems: list[System] = field(default_factory=list)
    #: Every programme the filter lists, with its work plan and system (a joint one once per system): the groups'
    #: lights roll these up, and ``programmes`` counts each once.
    members: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def programmes(self) -> int:
        """How many programmes the filter lists, a joint programme counted once."""
        return len({pid for pid, _, _ in self.members})

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.page_size))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def project_conditions(session: so.Session, flt: PortfolioFilter) -> list:
    """SQL conditions on Project for a filter (system, category, active year, search words)."""
    conditions = []
    if flt.system:
        system_id = find_system_id(session, flt.system)
        if system_id is None:
            raise FilterError("system", f"沒有名為「{flt.system}」的系統")
        conditions.append(Project.id.in_(sa.select(project_systems.c.project_id).where(project_systems.c.system_id == system_id)))
    if flt.category:
        conditions.append(Project.category == flt.category)
    if flt.year is not None:
        conditions.append(Project.id.in_(plan_years.projects_in_year(flt.year)))
    if flt.q:
        # every word must be found (「宜蘭 監獄」), each as typed or with 台/臺 the other way (「台中」 finds 臺中)
        for word in search_words(flt.q):
            conditions.append(_word_condition(word, flt.year))
    return conditions


def search_words(q: str) -> list[str]:
    """The words of a search, full-width forms made half-width (NFKC), at most ten."""
    return unicodedata.normalize("NFKC", q).split()[:10]


def _word_condition(word: str, year: int | None) -> sa.ColumnElement[bool]:
    """A programme whose name, work plan, a sub-plan's name, or plan code matches one search word (in year Y's
    plan, its name and code there too)."""
    sub = so.aliased(Project)
    spellings = list(dict.fromkeys([word, word.replace("台", "臺"), word.replace("臺", "台")]))
    found = []
    for spelling in spellings:
        pattern = _like(spelling)
        found += [Project.name.like(pattern, escape="\\"), WorkPlan.name.like(pattern, escape="\\"),
                  sa.exists().where(sub.parent_id == Project.id, sub.name.like(pattern, escape="\\"))]
    # the plan code, exactly: 「48」 is 嘉義市調查站, 「49-3」 finds programme 49 by its sub-plan
    found += [Project.code == word, sa.exists().where(sub.parent_id == Project.id, sub.code == word)]
    if year is not None:
        entry, child = so.aliased(PlanEntry), so.aliased(Project)
        found.append(sa.exists().where(
            entry.year_roc == year, entry.project_id == child.id,
            sa.or_(child.id == Project.id, child.parent_id == Project.id),
            sa.or_(entry.code == word, *(entry.name.like(_like(spelling), escape="\\") for spelling in spellings))))
    return sa.or_(*found)


def programmes_by_system(session: so.Session, flt: PortfolioFilter, *columns) -> sa.Select:
    """The system → work plan → programme join, filtered: one row per programme and each of its systems
    (a joint programme under the system asked for only); the portfolio and the Gantt list these rows."""
    query = sa.select(*columns).select_from(Project)
    if flt.year is not None:  # the year's entry places the programme: its work plan and 序號 that year
        query = query.join(PlanEntry, sa.and_(PlanEntry.project_id == Project.id, PlanEntry.year_roc == flt.year))
        query = query.join(WorkPlan, PlanEntry.work_plan_id == WorkPlan.id)
    else:
        query = query.join(WorkPlan, Project.work_plan_id == WorkPlan.id)
    query = (
        query
        .join(project_systems, project_systems.c.project_id == Project.id)
        .join(System, System.id == project_systems.c.system_id)
        .where(Project.parent_id.is_(None), *project_conditions(session, flt))
    )
    if flt.system:  # a joint project is listed only under the system asked for
        query = query.where(system_is(flt.system))
    return query


def portfolio_page(session: so.Session, flt: PortfolioFilter, page: int = 1, page_size: int = 50) -> PortfolioPage:
    """Top-level projects grouped by system and work plan, one page of rows; counts come from SQL."""
    base = programmes_by_system(session, flt, Project.id, System.id.label("system_id"))
    members = [tuple(row) for row in session.execute(base.add_columns(WorkPlan.id)
                                                     .with_only_columns(Project.id, WorkPlan.id, System.id))]
    total = len(members)
    page = max(1, page)
    seq = PlanEntry.seq if flt.year is not None else Project.seq
    ordered = base.add_columns(System.sort_order, WorkPlan.sort_order.label("wp_order"), seq).order_by(
        System.sort_order, WorkPlan.sort_order, seq
    ).limit(page_size).offset((page - 1) * page_size)
    pairs = session.execute(ordered).all()
    project_ids = {p.id for p in pairs}
    projects = {p.id: p for p in session.scalars(
        sa.select(Project).where(Project.id.in_(project_ids)).options(so.selectinload(Project.systems))
    )} if project_ids else {}
    systems = {s.id: s for s in session.scalars(sa.select(System).order_by(System.sort_order))}
    sub_counts = dict(session.execute(
        sa.select(Project.parent_id, sa.func.count()).where(Project.parent_id.in_(project_ids)).group_by(Project.parent_id)
    ).all()) if project_ids else {}
    sub = so.aliased(Project)
    milestone_counts = dict(session.execute(
        sa.select(sa.func.coalesce(sub.parent_id, sub.id), sa.func.count(Milestone.id))
        .join(Milestone, Milestone.project_id == sub.id)
        .where(sa.or_(sub.id.in_(project_ids), sub.parent_id.in_(project_ids)))
        .group_by(sa.func.coalesce(sub.parent_id, sub.id))
    ).all()) if project_ids else {}
    shown = {p.id: p for p in plan_years.in_year(session, list(projects.values()), flt.year)}
    rows = [
        PortfolioRow(
            system_name=systems[p.system_id].name, system_code=systems[p.system_id].code,
            work_plan=shown[p.id].work_plan.name, project=shown[p.id],
            sub_plan_count=sub_counts.get(p.id, 0), milestone_count=milestone_counts.get(p.id, 0),
            system_id=p.system_id,
        )
        for p in pairs
    ]
    return PortfolioPage(rows=rows, total=total, page=page, page_size=page_size, systems=list(systems.values()),
                         members=members)


def get_project(session: so.Session, project_id: int) -> Project | None:
    """One project with its systems, KPIs, milestones and sub-plans (and theirs), in a fixed number of queries."""
    return session.scalar(
        sa.select(Project).where(Project.id == project_id).options(
            so.selectinload(Project.systems),
            so.selectinload(Project.kpi_links),
            so.selectinload(Project.milestones),
            so.selectinload(Project.sub_plans).selectinload(Project.milestones),
            so.selectinload(Project.sub_plans).selectinload(Project.systems),
            so.selectinload(Project.parent),
        )
    )


def list_projects(session: so.Session, flt: PortfolioFilter, page: int, page_size: int) -> tuple[list[Project], int]:
    """Projects and sub-plans in plan order (each sub-plan after its parent), with everything the API shows."""
    parent = so.aliased(Project)
    conditions = project_conditions(session, flt)
    query = (
        sa.select(Project)
        .join(WorkPlan, Project.work_plan_id == WorkPlan.id)
        .outerjoin(parent, Project.parent_id == parent.id)
        .where(*conditions)
    )
    if flt.year is not None:  # plan order is the year's: its 序號 (a sub-plan after its programme's)
        mine, theirs = so.aliased(PlanEntry), so.aliased(PlanEntry)
        query = query.join(mine, sa.and_(mine.project_id == Project.id, mine.year_roc == flt.year)).outerjoin(
            theirs, sa.and_(theirs.project_id == parent.id, theirs.year_roc == flt.year))
        order = (sa.func.coalesce(theirs.seq, mine.seq), Project.parent_id.is_not(None), mine.seq, Project.id)
    else:
        order = (sa.func.coalesce(parent.seq, Project.seq), Project.parent_id.is_not(None), Project.seq, Project.id)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.with_only_columns(Project.id).subquery())) or 0
    projects = list(session.scalars(
        query.order_by(*order)
        .limit(page_size).offset((max(1, page) - 1) * page_size)
        .options(so.selectinload(Project.systems), so.selectinload(Project.kpi_links), so.selectinload(Project.milestones))
    ))
    return projects, total


def list_kpis(session: so.Session) -> list[tuple[Kpi, list[Project]]]:
    """The KPIs in plan order, each with the programmes linked to it."""
    kpis = list(session.scalars(sa.select(Kpi).order_by(Kpi.goal_no, Kpi.no)))
    links = session.execute(
        sa.select(ProjectKpi.kpi_id, Project).join(Project, Project.id == ProjectKpi.project_id)
        .where(Project.parent_id.is_(None)).order_by(Project.seq)
    ).all()
    by_kpi: dict[int, list[Project]] = {}
    for kpi_id, project in links:
        by_kpi.setdefault(kpi_id, []).append(project)
    return [(kpi, by_kpi.get(kpi.id, [])) for kpi in kpis]


def list_systems(session: so.Session) -> list[System]:
    """The systems in their order."""
    return list(session.scalars(sa.select(System).order_by(System.sort_order)))
