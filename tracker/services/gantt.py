"""The Gantt chart's rows: projects grouped by system and work plan, with spans and lights, in four queries at most."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.charts.data import GanttData, GanttRow, MilestoneMark
from tracker.charts.labels import tr
from tracker.domain.phase import Phase
from tracker.domain.roc import format_roc_date, from_roc_year
from tracker.domain.slippage import Light, SlipThresholds, Verdict, worst
from tracker.models import Milestone, Project, System, WorkPlan, project_systems
from tracker.services import plan_years
from tracker.services.portfolio import FilterError, PortfolioFilter, project_conditions
from tracker.services.schedule_facts import programme_judgements
from tracker.services.systems import system_is

__all__ = ["FilterError", "GanttFilter", "gantt_data", "listed_programmes", "project_label"]

_TRUE = ("1", "true", "on", "yes", "y")


@dataclass(frozen=True)
class GanttFilter:
    """What the Gantt chart is narrowed to."""

    system: str | None = None  #: system code or name (檢察 or prosecution)
    category: str | None = None  #: 計畫類別
    year: int | None = None  #: ROC year whose plan lists the project
    late_only: bool = False  #: only red lights (落後)

    @classmethod
    def from_args(cls, args) -> GanttFilter:
        """Read system, category, year and late from query parameters; a bad value is a FilterError."""
        base = PortfolioFilter.from_args(args)
        late = (args.get("late") or "").strip().lower() in _TRUE
        return cls(system=base.system, category=base.category, year=base.year, late_only=late)

    def describe(self) -> str:
        """The filters in words, for the chart's subtitle (「全部計畫」 when none)."""
        parts = []
        if self.system:
            parts.append(tr("系統：%(system)s", system=self.system))
        if self.category:
            parts.append(tr("類別：%(category)s", category=self.category))
        if self.year is not None:
            parts.append(tr("%(year)s 年度計畫", year=self.year))
        if self.late_only:
            parts.append(tr("僅列落後（紅燈）"))
        return tr("；").join(parts) or tr("全部計畫")


def project_label(project: Project) -> str:
    """A project's row label: 「計畫1 」 for a sub-plan, its name, and its phase fraction 「(1/3)」 if it has one."""
    phase = Phase(project.phase_index, project.phase_total).fraction if (
        project.phase_index is not None and project.phase_total is not None) else ""
    prefix = f"{project.sub_code} " if project.sub_code else ""
    return f"{prefix}{project.name}{phase}"


def _year_span(project: Project) -> tuple[date, date]:
    """1 January of the first ROC year to 31 December of the last."""
    return date(from_roc_year(project.first_year_roc), 1, 1), date(from_roc_year(project.last_year_roc), 12, 31)


def _row(kind: str, project: Project, system_code: str, judged: list[tuple[sa.Row, Verdict]],
         own: list[tuple[sa.Row, Verdict]], as_of: date, light: Light | None = None) -> GanttRow:
    """A project or sub-plan row from its milestones (``judged``: its own and, for a programme, its sub-plans');
    a programme's ``light`` is its judgement's, a sub-plan's the worst of its milestones."""
    light = worst(v.light for _, v in judged) if light is None else light
    marks = tuple(MilestoneMark(m.planned_finish_on, v.light, m.name) for m, v in own)
    if judged:
        baseline = (min(m.baseline_start_on for m, _ in judged), max(m.baseline_finish_on for m, _ in judged))
    else:
        baseline = _year_span(project)
    live = [(m, v) for m, v in judged if m.status != "cancelled"]
    if not live:  # nothing dated to follow: the baseline alone is drawn
        return GanttRow(kind, project_label(project), light, project.id, system_code, *baseline, milestones=marks)
    is_started = any(m.actual_start_on is not None or m.status in ("in_progress", "done") for m, _ in live)
    start = min(m.actual_start_on or m.planned_start_on for m, _ in live)
    finishes = []
    for m, verdict in live:
        if m.status == "done":
            finishes.append(m.actual_finish_on or m.planned_finish_on)
        else:  # still open: the slip rules' forecast, else the plan, and never before the as-of date
            finishes.append(max(verdict.forecast_finish or m.planned_finish_on, as_of))
    return GanttRow(kind, project_label(project), light, project.id, system_code, *baseline,
                    current_start_on=start, current_finish_on=max(finishes), is_started=is_started,
                    is_finished=all(m.status == "done" for m, _ in live), milestones=marks)


def listed_programmes(session: so.Session, flt: GanttFilter = GanttFilter()) -> sa.Select:
    """The chart's programme lines (project, system, work plan) in chart order; a joint project once per system."""
    conditions = project_conditions(session, PortfolioFilter(system=flt.system, category=flt.category, year=flt.year))
    query = (
        sa.select(Project, System, WorkPlan)
        .join(WorkPlan, Project.work_plan_id == WorkPlan.id)
        .join(project_systems, project_systems.c.project_id == Project.id)
        .join(System, System.id == project_systems.c.system_id)
        .where(Project.parent_id.is_(None), *conditions)
        .order_by(System.sort_order, WorkPlan.sort_order, Project.seq, Project.id)
    )
    if flt.system:  # a joint project is listed only under the system asked for
        query = query.where(system_is(flt.system))
    return query


def gantt_data(session: so.Session, as_of: date, flt: GanttFilter = GanttFilter(),
               thresholds: SlipThresholds = SlipThresholds(), limit: int | None = None,
               offset: int = 0) -> GanttData:
    """Rows grouped system → work plan → project → sub-plan, judged on a date; a joint project is under each system.

    ``limit`` keeps the first programmes only (in chart order), after skipping ``offset`` of them (a page of
    the web chart), so a screenful of a national portfolio reads only its own milestones; with ``late_only``
    every programme must be judged first (limit and offset are then the caller's to apply).
    """
    query = listed_programmes(session, flt)
    if limit is not None and not flt.late_only:
        query = query.limit(limit).offset(offset or None)
    listed = session.execute(query).all()
    programme_ids = list(dict.fromkeys(project.id for project, _, _ in listed))
    sub_plans: dict[int, list[Project]] = defaultdict(list)
    judged: dict[int, list[tuple[sa.Row, Verdict]]] = defaultdict(list)  #: by project or sub-plan
    by_programme: dict[int, list[tuple[sa.Row, Verdict]]] = defaultdict(list)  #: with its sub-plans'
    programme_light: dict[int, Light] = {}  #: the one judgement's light (milestones, curve, latest report)
    if programme_ids:
        subs = sa.select(Project).where(Project.parent_id.in_(programme_ids))
        if flt.year is not None:  # the sub-plans the year's plan lists
            subs = subs.where(Project.id.in_(plan_years.projects_in_year(flt.year)))
        for sub in session.scalars(subs
                                   .order_by(Project.parent_id, Project.seq, Project.id)):
            sub_plans[sub.parent_id].append(sub)
        # the milestones the lights judge, with what a row draws besides (order, baseline), in the lights' loop
        judgements = programme_judgements(session, programme_ids, as_of, thresholds, Milestone.seq,
                                          Milestone.baseline_start_on, Milestone.baseline_finish_on)
        for pid, judgement in judgements.items():
            programme_light[pid] = judgement.light
            for item in judgement.milestones:
                judged[item[0].project_id].append(item)
                by_programme[pid].append(item)
    for items in judged.values():
        items.sort(key=lambda item: item[0].seq)

    # system -> work plan -> [programme row, its sub-plan rows...]
    sections: dict[int, tuple[System, dict[int, tuple[WorkPlan, list[list[GanttRow]]]]]] = {}
    for project, system, work_plan in listed:
        own = judged.get(project.id, [])
        # a programme is judged on its sub-plans too, listed or not (the one judgement, as the lights are)
        programme_row = _row("project", project, system.code, by_programme.get(project.id, []), own, as_of,
                             programme_light.get(project.id, Light.NONE))
        sub_rows = [_row("sub_plan", sub, system.code, judged.get(sub.id, []), judged.get(sub.id, []), as_of)
                    for sub in sub_plans.get(project.id, [])]
        if flt.late_only:
            if programme_row.light != Light.RED:
                continue
            sub_rows = [r for r in sub_rows if r.light == Light.RED]
        plans = sections.setdefault(system.id, (system, {}))[1]
        plans.setdefault(work_plan.id, (work_plan, []))[1].append([programme_row, *sub_rows])

    rows: list[GanttRow] = []
    for system, plans in sections.values():
        system_rows: list[GanttRow] = []
        for work_plan, blocks in plans.values():
            header = GanttRow("work_plan", work_plan.name, worst(b[0].light for b in blocks), None, system.code)
            system_rows += [header, *(row for block in blocks for row in block)]
        rows.append(GanttRow("system", system.name, worst(r.light for r in system_rows if r.kind == "project"),
                             None, system.code))
        rows += system_rows
    return GanttData(as_of=as_of, rows=tuple(rows), title=tr("法務部重要計畫期程（截至 %(day)s）", day=format_roc_date(as_of)),
                     subtitle=flt.describe())
