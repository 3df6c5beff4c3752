"""Load the annual plan's seed file: validate it whole, then write it in one transaction."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.roc import to_roc_year
from tracker.domain.plan_codes import programme_code, sub_plan_code
from tracker.models import Kpi, Milestone, Plan, Project, ProjectKpi, System, WorkPlan
from tracker.services import audit, plan_years

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SeedError(Exception):
    """A seed file that cannot be loaded; ``problems`` name the path of each bad field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:30])
        more = f"\n  … and {len(problems) - 30} more" if len(problems) > 30 else ""
        super().__init__(f"seed file refused ({len(problems)} problem(s)); nothing was written:\n{shown}{more}")


@dataclass
class SeedResult:
    """What a load changed."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def summary(self) -> str:
        """One line for the CLI."""
        if not self.changed:
            return "seed already loaded: nothing changed"
        created = ", ".join(f"{n} {k}" for k, n in sorted(self.created.items())) or "nothing"
        updated = ", ".join(f"{n} {k}" for k, n in sorted(self.updated.items())) or "nothing"
        return f"seed loaded: created {created}; updated {updated}"


def _schema() -> dict:
    return json.loads(resources.files("tracker").joinpath("seed_schema.json").read_text(encoding="utf-8"))


def _path(parts) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_seed(path: str | Path) -> dict:
    """Read a seed file; a missing file or broken JSON is a SeedError naming where."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeedError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise SeedError([f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError([f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None


def validate_seed(data: Any) -> list[str]:
    """Every problem in the seed, each with the JSON path of the bad field; [] when it is sound."""
    validator = jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    problems = [
        f"{_path(err.absolute_path)}: {err.message}"
        for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    ]
    if problems:
        return problems
    return _check_rules(data)


def _date(value: str, where: str, problems: list[str]) -> date | None:
    if not _ISO_DATE.match(value):
        problems.append(f"{where}: {value!r} is not a date written YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a real date")
        return None


def _check_span(item: dict, where: str, problems: list[str]) -> None:
    """Years, phase and milestone dates of a programme or sub-plan agree with one another."""
    first, last = item["first_year"], item["last_year"]
    if first > last:
        problems.append(f"{where}.last_year: {last} is before first_year {first}")
    phase = item.get("phase")
    if phase and phase["index"] > phase["total"]:
        problems.append(f"{where}.phase: year {phase['index']} of {phase['total']} is impossible")
    for m_index, milestone in enumerate(item.get("milestones", [])):
        m_where = f"{where}.milestones[{m_index}]"
        start = _date(milestone["planned_start"], f"{m_where}.planned_start", problems)
        finish = _date(milestone["planned_finish"], f"{m_where}.planned_finish", problems)
        if start and finish:
            if finish < start:
                problems.append(f"{m_where}.planned_finish: {finish} is before planned_start {start}")
            for label, d in (("planned_start", start), ("planned_finish", finish)):
                roc = to_roc_year(d.year)
                if not first <= roc <= last:
                    problems.append(f"{m_where}.{label}: year {roc} is outside the plan's years {first}–{last}")


def _check_rules(data: dict) -> list[str]:
    problems: list[str] = []
    system_names = [s["name"] for s in data["systems"]]
    for key in ("code", "name"):
        for value, n in Counter(s[key] for s in data["systems"]).items():
            if n > 1:
                problems.append(f"$.systems: {key} {value!r} appears {n} times")
    kpi_names: dict[str, str] = {}
    for index, kpi in enumerate(data["kpis"]):
        for name in [kpi["name"], *kpi.get("aliases", [])]:
            if name in kpi_names:
                problems.append(f"$.kpis[{index}].name: {name!r} is already the name of KPI {kpi_names[name]}")
            kpi_names[name] = kpi["code"]
    for value, n in Counter(k["code"] for k in data["kpis"]).items():
        if n > 1:
            problems.append(f"$.kpis: code {value!r} appears {n} times")
    for value, n in Counter(p["seq"] for p in data["programmes"]).items():
        if n > 1:
            problems.append(f"$.programmes: seq {value} appears {n} times")
    for index, programme in enumerate(data["programmes"]):
        where = f"$.programmes[{index}]"
        for s_index, system in enumerate(programme["systems"]):
            if system not in system_names:
                problems.append(f"{where}.systems[{s_index}]: unknown system {system!r} (known: {', '.join(system_names)})")
        for k_index, kpi in enumerate(programme["kpis"]):
            if kpi not in kpi_names:
                problems.append(f"{where}.kpis[{k_index}]: no KPI is named {kpi!r}")
        _check_span(programme, where, problems)
        for value, n in Counter(s["code"] for s in programme["sub_plans"]).items():
            if n > 1:
                problems.append(f"{where}.sub_plans: code {value!r} appears {n} times")
        for s_index, sub in enumerate(programme["sub_plans"]):
            _check_span(sub, f"{where}.sub_plans[{s_index}]", problems)
    return problems


def _assign(obj: Any, values: dict[str, Any]) -> dict[str, list]:
    """Set only the attributes that differ; return {field: [old, new]}."""
    changes: dict[str, list] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if isinstance(old, Decimal) and new is not None:
            same = old == Decimal(str(new))
        else:
            same = old == new
        if not same:
            changes[name] = [old, new]
            setattr(obj, name, new)
    return changes


class _Loader:
    """One load of a validated seed into a session."""

    def __init__(self, session: so.Session, data: dict, who: audit.Who):
        self.session = session
        self.data = data
        self.who = who
        self.result = SeedResult()
        self.plan_year = data["source"]["plan_year"]

    def _upsert(self, kind: str, obj: Any, values: dict[str, Any], label: str) -> Any:
        if obj is None:
            return None
        changes = _assign(obj, values)
        if changes:
            self.result.updated[kind] += 1
            self.session.flush()
            audit.record(self.session, self.who, "seed.update", kind, getattr(obj, "id", label), changes)
        return obj

    def run(self) -> SeedResult:
        later = self.session.scalar(sa.select(sa.func.max(Plan.year_roc)))
        if later is not None and later > self.plan_year:
            # a later year's plan is loaded: this year is history, and the projects show the later entries
            return self.result
        systems = self._systems()
        work_plans = self._work_plans()
        kpis = self._kpis()
        existing = {p.seed_key: p for p in self.session.scalars(sa.select(Project).where(Project.seed_key.is_not(None)))}
        loaded = []
        for programme in self.data["programmes"]:
            key = f"{self.plan_year}-{programme['seq']:02d}"
            project = self._project(existing.get(key), key, programme, None, programme["seq"], work_plans, systems, kpis)
            loaded.append(project)
            for s_seq, sub in enumerate(programme["sub_plans"], start=1):
                sub_key = f"{key}-{sub['code']}"
                loaded.append(self._project(
                    existing.get(sub_key), sub_key, {**programme, **sub, "name_as_written": sub["name"],
                                                     "kpis": programme["kpis"], "content": sub.get("description", "")},
                    project, s_seq, work_plans, systems, kpis))
        self._plan_year(loaded, kpis)
        if self.result.changed:
            audit.record(self.session, self.who, "seed.load", "seed", self.data["source"]["title"], {
                "created": dict(self.result.created), "updated": dict(self.result.updated),
            })
        self.session.flush()
        return self.result

    def _plan_year(self, projects: list[Project], kpis: dict[str, Kpi]) -> None:
        """The seed's year as a plan: its KPI targets and each project's entry of that year."""
        plan_years.ensure_plan(self.session, self.plan_year, self.data["source"]["title"], self.who,
                               source_name=self.data["source"].get("file", ""))
        for kpi in {k.id: k for k in kpis.values()}.values():
            plan_years.record_kpi_target(self.session, kpi, self.plan_year)
        self.session.flush()
        for project in projects:
            plan_years.record_entry_from_project(self.session, project, self.plan_year)
        self.session.flush()

    def _systems(self) -> dict[str, System]:
        by_code = {s.code: s for s in self.session.scalars(sa.select(System))}
        out = {}
        for order, item in enumerate(self.data["systems"], start=1):
            values = {"name": item["name"], "sort_order": order}
            system = by_code.get(item["code"])
            if system is None:
                system = System(code=item["code"], **values)
                self.session.add(system)
                self.result.created["systems"] += 1
            else:
                self._upsert("systems", system, values, item["code"])
            out[item["name"]] = system
        return out

    def _work_plans(self) -> dict[str, WorkPlan]:
        by_name = {w.name: w for w in self.session.scalars(sa.select(WorkPlan))}
        in_order = list(dict.fromkeys(p["work_plan"] for p in self.data["programmes"]))
        for order, name in enumerate(in_order, start=1):
            plan = by_name.get(name)
            if plan is None:
                by_name[name] = WorkPlan(name=name, sort_order=order)
                self.session.add(by_name[name])
                self.result.created["work_plans"] += 1
            else:
                self._upsert("work_plans", plan, {"sort_order": order}, name)
        return by_name

    def _kpis(self) -> dict[str, Kpi]:
        by_code = {k.code: k for k in self.session.scalars(sa.select(Kpi))}
        by_name: dict[str, Kpi] = {}
        for item in self.data["kpis"]:
            values = {
                "goal_no": item["goal_no"], "goal": item["goal"], "no": item["no"], "name": item["name"],
                "measure": item["measure"], "target_value": Decimal(item["target"]), "target_text": item["target_text"],
                "unit": item["unit"], "direction": item["direction"],
                "evaluation_system": item.get("evaluation_system"), "evaluation_method": item.get("evaluation_method"),
                "related_plan_categories": item.get("related_plan_categories", []), "aliases": item.get("aliases", []),
            }
            kpi = by_code.get(item["code"])
            if kpi is None:
                kpi = Kpi(code=item["code"], **values)
                self.session.add(kpi)
                self.result.created["kpis"] += 1
            else:
                self._upsert("kpis", kpi, values, item["code"])
            for name in [item["name"], *item.get("aliases", [])]:
                by_name[name] = kpi
        self.session.flush()
        return by_name

    def _project(self, project, key, item, parent, seq, work_plans, systems, kpis) -> Project:
        phase = item.get("phase") or {}
        values = {
            "seq": seq,
            "name": item["name"],
            "name_as_written": item.get("name_as_written") or item["name"],
            "work_plan": work_plans[item["work_plan"]],
            "category": item["category"],
            "phase_index": phase.get("index"),
            "phase_total": phase.get("total"),
            "first_year_roc": item["first_year"],
            "last_year_roc": item["last_year"],
            "parent": parent,
            "sub_code": item["code"] if parent is not None else None,
            "code": sub_plan_code(parent.seq, item["code"], seq) if parent is not None else programme_code(seq),
            "agency": item.get("agency") if parent is not None else None,
            "description": item.get("description", "") if parent is not None else "",
            "content": item.get("content", ""),
            "facts": item.get("facts", {}) if parent is None else {},
        }
        wanted_systems = [systems[name] for name in item["systems"]]
        wanted_kpis = [(kpis[name], name) for name in item["kpis"]]
        if project is None:
            project = Project(seed_key=key, **values)
            project.systems = wanted_systems
            project.kpi_links = [ProjectKpi(kpi=k, written_name=n, position=i) for i, (k, n) in enumerate(wanted_kpis)]
            self.session.add(project)
            self.result.created["projects"] += 1
            self.session.flush()
        else:
            changes = _assign(project, values)
            if [s.id for s in project.systems] != [s.id for s in wanted_systems]:
                changes["systems"] = [[s.name for s in project.systems], [s.name for s in wanted_systems]]
                project.systems = wanted_systems
            current_links = [(link.kpi_id, link.written_name) for link in project.kpi_links]
            if current_links != [(k.id, n) for k, n in wanted_kpis]:
                changes["kpis"] = [[n for _, n in current_links], [n for _, n in wanted_kpis]]
                project.kpi_links.clear()
                self.session.flush()
                project.kpi_links.extend(ProjectKpi(kpi=k, written_name=n, position=i) for i, (k, n) in enumerate(wanted_kpis))
            if changes:
                self.result.updated["projects"] += 1
                if "work_plan" in changes:
                    changes["work_plan"] = [w.name if w else None for w in changes["work_plan"]]
                if "parent" in changes:
                    changes["parent"] = [p.id if p else None for p in changes["parent"]]
                self.session.flush()
                audit.record(self.session, self.who, "seed.update", "project", project.id, changes)
        self._milestones(project, item["milestones"])
        return project

    def _milestones(self, project: Project, items: list[dict]) -> None:
        by_seq = {m.seq: m for m in project.milestones}
        for seq, item in enumerate(items, start=1):
            start = date.fromisoformat(item["planned_start"])
            finish = date.fromisoformat(item["planned_finish"])
            milestone = by_seq.get(seq)
            if milestone is None:
                project.milestones.append(Milestone(
                    seq=seq, name=item["name"], source_text=item.get("source", ""),
                    planned_start_on=start, planned_finish_on=finish,
                    baseline_start_on=start, baseline_finish_on=finish,
                ))
                self.result.created["milestones"] += 1
                continue
            values = {"name": item["name"], "source_text": item.get("source", "")}
            # A corrected seed moves the baseline; planned dates follow it only where no one re-planned.
            if (milestone.planned_start_on, milestone.planned_finish_on) == (
                    milestone.baseline_start_on, milestone.baseline_finish_on):
                values.update(planned_start_on=start, planned_finish_on=finish)
            values.update(baseline_start_on=start, baseline_finish_on=finish)
            changes = _assign(milestone, values)
            if changes:
                self.result.updated["milestones"] += 1
                self.session.flush()
                audit.record(self.session, self.who, "seed.update", "milestone", milestone.id, changes)


def load_seed(session: so.Session, data: dict, who: audit.Who = audit.SEED) -> SeedResult:
    """Validate the whole seed, then create or update what differs; raise SeedError before any write."""
    problems = validate_seed(data)
    if problems:
        raise SeedError(problems)
    return _Loader(session, data, who).run()


def load_seed_file(session: so.Session, path: str | Path, who: audit.Who = audit.SEED) -> SeedResult:
    """Read, validate and load a seed file (the caller commits)."""
    return load_seed(session, read_seed(path), who)
