"""The lights pages show (綠燈, 黃燈, 紅燈): of each milestone, programme, work plan and system on a date.

One judgement (schedule_facts.programme_judgements, slippage.judge_programme) gives them, for the
portfolio, the project page, the Gantt chart (services.gantt), the report and the schedule scan alike;
the portfolio's lights are cached by the data stamp and, after a
change, judged again only for the programmes whose fingerprint changed.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.slippage import Light, SlipThresholds
from tracker.models import Project, project_systems
from tracker.services import datastamp, scanstate
from tracker.services.cache import StampedCache
from tracker.services.schedule_facts import programme_fingerprints, programme_judgements, slip_thresholds_from

__all__ = ["PortfolioLights", "portfolio_lights", "project_lights", "slip_thresholds_from"]


def project_lights(session: so.Session, programme_ids: list[int], as_of: date,
                   t: SlipThresholds = SlipThresholds()) -> tuple[dict[int, Light], dict[int, Light]]:
    """The light of each programme (the one judgement: milestones, curve and latest report) and of each milestone."""
    judged = programme_judgements(session, programme_ids, as_of, t)
    by_milestone = {m.id: verdict.light for j in judged.values() for m, verdict in j.milestones}
    return {pid: judged[pid].light if pid in judged else Light.NONE for pid in programme_ids}, by_milestone


@dataclass(frozen=True)
class PortfolioLights:
    """Lights of every programme, rolled up to work plans and systems (worst of their programmes)."""

    programmes: dict[int, Light]
    work_plans: dict[int, Light]
    systems: dict[int, Light]


def rolled_up(programmes: dict[int, Light], members: list[tuple[int, int, int]]) -> PortfolioLights:
    """Work-plan and system lights from only the programmes listed (programme, work plan, system): a filtered
    list's groups show the worst of what they show, not of the whole portfolio."""
    work_plans: dict[int, Light] = defaultdict(lambda: Light.NONE)
    systems: dict[int, Light] = defaultdict(lambda: Light.NONE)
    for pid, work_plan_id, system_id in members:
        light = programmes.get(pid, Light.NONE)
        work_plans[work_plan_id] = max(work_plans[work_plan_id], light)
        systems[system_id] = max(systems[system_id], light)
    return PortfolioLights(programmes, dict(work_plans), dict(systems))


_LIGHTS = StampedCache(size=16)
#: Per database, date and thresholds: the programme lights last judged and the fingerprints they were
#: judged on, so that after a change only the programmes that changed are judged again.
_JUDGED: OrderedDict[tuple, tuple[dict[int, str], dict[int, Light]]] = OrderedDict()
_JUDGED_SIZE = 8
_JUDGED_LOCK = threading.Lock()


def portfolio_lights(session: so.Session, as_of: date, t: SlipThresholds = SlipThresholds()) -> PortfolioLights:
    """All lights of the portfolio on a date; recomputed only when the data changes (the data stamp),
    and then only for the programmes whose milestones or projects changed."""
    key = (str(session.get_bind().url), as_of, t)
    stamp = datastamp.current(session)
    return _LIGHTS.get_or_build(stamp, key, lambda: _judge_portfolio(session, as_of, t, key, keep=stamp is not None))


def _judge_portfolio(session: so.Session, as_of: date, t: SlipThresholds, key: tuple, keep: bool) -> PortfolioLights:
    """Judge the programmes that changed since the last judgement for this key (all, the first time) and roll up."""
    prints = programme_fingerprints(session)
    previous = _JUDGED.get(key)
    changed = None if previous is None else scanstate.changed_ids(previous[0], prints)
    judged = {pid: j.light for pid, j in
              programme_judgements(session, None if changed is None else sorted(changed), as_of, t).items()}
    if changed is None:
        programmes = judged
    else:
        programmes = {pid: light for pid, light in previous[1].items() if pid not in changed}
        programmes.update(judged)
    if keep:  # judged on committed data: the next change starts from here
        with _JUDGED_LOCK:
            _JUDGED[key] = (prints, programmes)
            _JUDGED.move_to_end(key)
            while len(_JUDGED) > _JUDGED_SIZE:
                _JUDGED.popitem(last=False)
    work_plans: dict[int, Light] = defaultdict(lambda: Light.NONE)
    for pid, work_plan_id in session.execute(sa.select(Project.id, Project.work_plan_id).where(Project.parent_id.is_(None))):
        work_plans[work_plan_id] = max(work_plans[work_plan_id], programmes.get(pid, Light.NONE))
    systems: dict[int, Light] = defaultdict(lambda: Light.NONE)
    for pid, system_id in session.execute(sa.select(project_systems.c.project_id, project_systems.c.system_id)):
        systems[system_id] = max(systems[system_id], programmes.get(pid, Light.NONE))
    return PortfolioLights(programmes, dict(work_plans), dict(systems))
