"""Plan import: read a year's 施政計畫 from its text, preview what it changes, and apply it all or nothing.

The preview matches each programme to last year's by normalised name, with the phase fraction as evidence
(tracker.domain.plan_match); an ambiguous match is the admin's to settle, on the page or with a mapping file.
Nothing is written until the plan is applied, and a plan with any problem is refused whole.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain import plan_match
from tracker.domain.names import fold
from tracker.domain.plan_codes import programme_code, sub_plan_code
from tracker.domain.plan_text import PlanText, parse_plan_text
from tracker.models import (Budget, Kpi, KpiTarget, Milestone, MonthEnd, Plan, PlanEntry, PlanEntryKpi,
                            PlanEntryMilestone, ProgressReport, Project, ProjectKpi, System, WorkPlan, as_utc, utcnow)
from tracker.models import PlanPreview as PlanPreviewRow
from tracker.services import audit, plan_years
from tracker.services.seed import validate_seed

#: A plan's text is a few hundred kilobytes; anything far larger is not a plan.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def problem(line: int, text: str, message: str) -> dict:
    """One problem as the preview, the page and the CLI show it."""
    return {"line": line, "text": text[:120], "message": message}


class PlanImportError(Exception):
    """A plan refused whole: ``problems`` list each line that could not be placed or read, and why."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        shown = "\n".join(f"  - {_where(p)}{p['message']}" for p in problems[:30])
        more = f"\n  … and {len(problems) - 30} more" if len(problems) > 30 else ""
        super().__init__(f"plan refused ({len(problems)} problem(s)); nothing was written:\n{shown}{more}")


def _where(p: dict) -> str:
    if not p.get("line"):
        return ""
    return f"line {p['line']}: {p['text']!r}: " if p.get("text") else f"line {p['line']}: "


@dataclass
class PlanPreview:
    """What applying a plan would do: new, continuing, dropped and changed programmes, and what stops it."""

    year: int
    title: str
    previous_year: int | None
    sha256: str
    new: list[dict] = field(default_factory=list)
    continuing: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    ambiguous: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    kpis: int = 0
    applied: bool = False

    @property
    def can_apply(self) -> bool:
        """Whether nothing stops the plan from being applied."""
        return not self.problems and not self.ambiguous

    def as_json(self) -> dict:
        """The preview as `tracker plan import --format json` prints it."""
        return {"year": self.year, "title": self.title, "previous_year": self.previous_year, "sha256": self.sha256,
                "new": self.new, "continuing": self.continuing, "dropped": self.dropped, "changed": self.changed,
                "ambiguous": self.ambiguous, "problems": self.problems, "kpis": self.kpis, "applied": self.applied}


def read_text(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """A plan file's text (UTF-8, a BOM allowed); too large or not UTF-8 is a PlanImportError."""
    if len(data) > max_bytes:
        raise PlanImportError([problem(0, "", f"檔案過大：{len(data):,} 位元組，上限 {max_bytes:,} 位元組")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise PlanImportError([problem(line, "", f"不是 UTF-8 文字（第 {exc.start} 位元組）")]) from None


def read_mapping(data: bytes) -> dict[str, int | None]:
    """A mapping file: JSON {"<this year's 序號>": <programme_id> or null (new)}; anything else is refused."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanImportError([problem(0, "", f"對照檔不是有效的 JSON：{exc}")]) from None
    if not isinstance(value, dict):
        raise PlanImportError([problem(0, "", "對照檔須為 {\"序號\": 計畫編號或 null} 的物件")])
    out: dict[str, int | None] = {}
    for key, target in value.items():
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
            raise PlanImportError([problem(0, "", f"對照檔「{key}」：須為計畫編號（整數）或 null，而非 {target!r}")])
        out[str(key).strip()] = target
    return out


def _line_of(text: str, name: str) -> int:
    """The line of the text where a name begins (for problems found after parsing), 0 when not found."""
    probe = (name or "")[:8]
    if not probe:
        return 0
    for number, line in enumerate(text.splitlines(), start=1):
        if probe in line:
            return number
    return 0


@dataclass
class _Plan:
    """A parsed, validated plan and its matching against the years before it."""

    text: str
    parsed: PlanText
    preview: PlanPreview
    previous: dict[int, PlanEntry]  #: project id → the entry it is matched against
    matches: dict[str, int | None]  #: this year's code → project id (None: new)
    replaced: dict[int, PlanEntry]  #: year Y's entries before a --replace


def _entry_phase(entry: PlanEntry) -> str | None:
    return f"{entry.phase_index}/{entry.phase_total}" if entry.phase_index else None


def _phase(item: dict) -> str | None:
    phase = item.get("phase")
    return f"{phase['index']}/{phase['total']}" if phase else None


def _prepare(session: so.Session, text: str, year: int, *, filename: str, mapping: dict | None, replace: bool) -> _Plan:
    parsed = parse_plan_text(text, year_roc=year, filename=filename)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    preview = PlanPreview(year=year, title=parsed.title, previous_year=None, sha256=sha)
    preview.problems = [problem(p.line, p.text, p.message) for p in parsed.problems]
    existing = plan_years.get_plan(session, year)
    if existing is not None and not replace:
        preview.problems.append(problem(0, "", f"民國 {year} 年度計畫已載入；要重新載入並取代，請指定取代（--replace）"))
    if existing is not None and existing.is_closed:
        preview.problems.append(problem(0, "", f"民國 {year} 年度已辦理年度結束，不能再載入計畫"))
    if preview.problems:
        return _Plan(text, parsed, preview, {}, {}, {})
    data = parsed.data
    preview.problems = [problem(0, "", p) for p in validate_seed(data)]
    preview.kpis = len(data["kpis"])
    if preview.problems:
        return _Plan(text, parsed, preview, {}, {}, {})
    previous_year = session.scalar(sa.select(sa.func.max(Plan.year_roc)).where(Plan.year_roc < year))
    preview.previous_year = previous_year
    replaced = plan_years.entries_of_year(session, year) if existing is not None else {}
    previous = plan_years.entries_of_year(session, previous_year) if previous_year is not None else {}
    # a replaced year's own entries are candidates too (their programme keeps its id), ahead of last year's
    candidates = {pid: e for pid, e in {**previous, **replaced}.items()}
    projects = {p.id: p for p in session.scalars(sa.select(Project).where(Project.id.in_(list(candidates))))} \
        if candidates else {}
    candidates = {pid: e for pid, e in candidates.items() if projects[pid].parent_id is None}
    new_listed = [plan_match.Listed(programme_code(p["seq"]), p["name"], year, *_phase_tuple(p)) for p in data["programmes"]]
    old_listed = [plan_match.Listed(str(pid), e.name, e.year_roc, e.phase_index, e.phase_total) for pid, e in candidates.items()]
    settled: dict[str, str | None] = {}
    for key, target in (mapping or {}).items():
        code = _code_of(key, data["programmes"])
        if code is None:
            preview.problems.append(problem(0, "", f"對照檔：本年度計畫沒有序號或名稱「{key}」"))
        elif target is not None and target not in candidates:
            preview.problems.append(problem(0, "", f"對照檔：序號 {code} 指定的計畫編號 {target} 不在"
                                                   f"{'前一年度' if previous_year else '已載入的'}計畫中"))
        else:
            settled[code] = None if target is None else str(target)
    matches: dict[str, int | None] = {}
    by_code = {programme_code(p["seq"]): p for p in data["programmes"]}
    for m in plan_match.match_programmes(new_listed, old_listed, settled):
        item = by_code[m.key]
        if m.status == "ambiguous":
            preview.ambiguous.append({"code": m.key, "name": item["name"], "candidates": [
                {"programme_id": int(o), "name": candidates[int(o)].name, "score": s} for o, s in m.candidates]})
            continue
        if m.status == "new":
            matches[m.key] = None
            preview.new.append({"code": m.key, "name": item["name"], "category": item["category"],
                                "work_plan": item["work_plan"], "phase": _phase(item)})
            continue
        pid = int(m.previous)
        old = candidates[pid]
        matches[m.key] = pid
        listed_new = plan_match.Listed(m.key, item["name"], year, *_phase_tuple(item))
        listed_old = plan_match.Listed(str(pid), old.name, old.year_roc, old.phase_index, old.phase_total)
        if old.year_roc < year and plan_match.goes_backwards(listed_new, listed_old):
            preview.problems.append(problem(
                _line_of(text, item.get("name_as_written") or item["name"]), item.get("name_as_written") or item["name"],
                f"計畫階段倒退：{old.year_roc} 年度為 ({_entry_phase(old)})，本年度為 ({_phase(item)})"))
        preview.continuing.append({"code": m.key, "name": item["name"], "previous_name": old.name,
                                   "previous_code": old.code, "previous_year": old.year_roc,
                                   "programme_id": pid, "score": m.score, "phase": _phase(item),
                                   "previous_phase": _entry_phase(old)})
        changes = _entry_changes(old, item)
        if changes:
            preview.changed.append({"kind": "programme", "code": m.key, "name": item["name"], "programme_id": pid,
                                    "changes": changes})
    matched = {pid for pid in matches.values() if pid is not None}
    for pid, entry in previous.items():
        if projects[pid].parent_id is None and pid not in matched:
            preview.dropped.append({"programme_id": pid, "name": entry.name, "code": entry.code,
                                    "year": entry.year_roc})
    preview.changed.extend(_kpi_changes(session, data["kpis"], previous_year))
    if replace:
        preview.problems.extend(_replace_problems(session, replaced, projects, matched))
    return _Plan(text, parsed, preview, previous, matches, replaced)


def _phase_tuple(item: dict) -> tuple[int | None, int | None]:
    phase = item.get("phase")
    return (phase["index"], phase["total"]) if phase else (None, None)


def _code_of(key: str, programmes: list[dict]) -> str | None:
    """This year's code named by a mapping key: the 序號, or the programme's name."""
    for item in programmes:
        if key == programme_code(item["seq"]) or fold(key) == fold(item["name"]):
            return programme_code(item["seq"])
    return None


def _entry_changes(old: PlanEntry, item: dict) -> dict[str, list]:
    """What a continuing programme's entry changes from last year's (as the preview lists it)."""
    changes: dict[str, list] = {}
    if old.name != item["name"]:
        changes["name"] = [old.name, item["name"]]
    if old.category != item["category"]:
        changes["category"] = [old.category, item["category"]]
    if old.work_plan.name != item["work_plan"]:
        changes["work_plan"] = [old.work_plan.name, item["work_plan"]]
    old_kpis = [link.written_name for link in old.kpi_links]
    if old_kpis != list(item["kpis"]):
        changes["kpis"] = [old_kpis, list(item["kpis"])]
    if old.phase_total != (item.get("phase") or {}).get("total"):
        changes["phase_total"] = [old.phase_total, (item.get("phase") or {}).get("total")]
    return changes


def _kpi_identity(session: so.Session) -> dict[str, Kpi]:
    """Every KPI by its folded name and aliases: a KPI keeps its identity across years by its name."""
    out: dict[str, Kpi] = {}
    for kpi in session.scalars(sa.select(Kpi)):
        for name in [kpi.name, *(kpi.aliases or [])]:
            out.setdefault(fold(name), kpi)
    return out


def _kpi_changes(session: so.Session, kpis: list[dict], previous_year: int | None) -> list[dict]:
    """KPIs whose target (or measure) differs from last year's."""
    if previous_year is None:
        return []
    targets = {t.kpi_id: t for t in session.scalars(sa.select(KpiTarget).where(KpiTarget.year_roc == previous_year))}
    identity = _kpi_identity(session)
    out = []
    for item in kpis:
        kpi = identity.get(fold(item["name"]))
        target = targets.get(kpi.id) if kpi else None
        if target is None:
            out.append({"kind": "kpi", "code": item["code"], "name": item["name"], "changes": {"new": [None, item["name"]]}})
            continue
        changes = {}
        if target.target_value != Decimal(item["target"]) or target.target_text != item["target_text"]:
            changes["target"] = [target.target_text, item["target_text"]]
        if target.code != item["code"]:
            changes["code"] = [target.code, item["code"]]
        if target.measure != item["measure"]:
            changes["measure"] = [target.measure, item["measure"]]
        if changes:
            out.append({"kind": "kpi", "code": item["code"], "name": item["name"], "kpi_id": kpi.id, "changes": changes})
    return out


def _replace_problems(session: so.Session, replaced: dict[int, PlanEntry], projects: dict[int, Project],
                      matched: set[int]) -> list[dict]:
    """A replaced year's programme that the new text no longer lists may go only if nothing hangs under it."""
    orphans = [pid for pid in replaced if projects[pid].parent_id is None and pid not in matched
               and _only_year(session, pid, replaced[pid].year_roc)]
    out = []
    for pid in orphans:
        if _holds_data(session, pid):
            out.append(problem(0, replaced[pid].name,
                               f"取代後不再列出的計畫「{replaced[pid].name}」（編號 {pid}）已有月報、預算或執行數，"
                               "不能刪除；請以對照檔指定本年度哪一項延續它"))
    return out


def _only_year(session: so.Session, project_id: int, year: int) -> bool:
    years = set(session.scalars(sa.select(PlanEntry.year_roc).where(PlanEntry.project_id == project_id)))
    return years == {year}


def _holds_data(session: so.Session, project_id: int) -> bool:
    ids = sa.select(Project.id).where(sa.or_(Project.id == project_id, Project.parent_id == project_id))
    for model in (ProgressReport, Budget, MonthEnd):
        if session.scalar(sa.select(sa.func.count()).select_from(model).where(model.project_id.in_(ids))):
            return True
    return False


def preview_plan(session: so.Session, text: str, year: int, *, filename: str = "", mapping: dict | None = None,
                 replace: bool = False) -> PlanPreview:
    """What importing the plan would do; writes nothing."""
    return _prepare(session, text, year, filename=filename, mapping=mapping, replace=replace).preview


def import_plan(session: so.Session, text: str, year: int, who: audit.Who, *, filename: str = "",
                mapping: dict | None = None, replace: bool = False) -> PlanPreview:
    """Apply the plan all or nothing (the caller commits); any problem or unsettled match is a PlanImportError."""
    prepared = _prepare(session, text, year, filename=filename, mapping=mapping, replace=replace)
    preview = prepared.preview
    if preview.problems:
        raise PlanImportError(preview.problems)
    if preview.ambiguous:
        raise PlanImportError([problem(_line_of(text, a["name"]), a["name"],
                                       "無法確定延續前一年度的哪一項計畫（候選："
                                       + "、".join(f"{c['programme_id']} {c['name']}" for c in a["candidates"])
                                       + "）；請以對照檔指定") for a in preview.ambiguous])
    _Applier(session, prepared, who, filename).run()
    preview.applied = True
    return preview


class _Applier:
    """One application of a prepared plan."""

    def __init__(self, session: so.Session, prepared: _Plan, who: audit.Who, filename: str):
        self.session = session
        self.p = prepared
        self.data = prepared.parsed.data
        self.year = prepared.preview.year
        self.who = who
        self.filename = filename
        self.counts: dict[str, int] = {"programmes": 0, "sub_plans": 0, "milestones": 0, "kpis": 0}

    def run(self) -> None:
        session = self.session
        self._clear_replaced()
        plan = plan_years.ensure_plan(session, self.year, self.data["source"]["title"], self.who,
                                      source_name=self.filename, sha256=self.p.preview.sha256, goals=self.p.parsed.goals)
        plan.title, plan.source_name, plan.sha256, plan.goals = (
            self.data["source"]["title"], self.filename, self.p.preview.sha256, self.p.parsed.goals)
        self.systems = self._systems()
        self.work_plans = self._work_plans()
        self.kpis = self._kpis()
        session.flush()
        matched = [pid for pid in self.p.matches.values() if pid is not None]
        latest = plan_years.latest_entry_years(session, matched)
        # every continuing programme with its sub-plans, milestones and links in a few queries, not a few per row
        continuing = {p.id: p for p in session.scalars(sa.select(Project).where(Project.id.in_(matched)).options(
            so.selectinload(Project.milestones), so.selectinload(Project.kpi_links), so.selectinload(Project.systems),
            so.selectinload(Project.sub_plans).selectinload(Project.milestones),
            so.selectinload(Project.sub_plans).selectinload(Project.kpi_links)))} if matched else {}
        self.taken_keys = set(session.scalars(sa.select(Project.seed_key).where(Project.seed_key.is_not(None))))
        for item in self.data["programmes"]:
            pid = self.p.matches.get(programme_code(item["seq"]))
            self._programme(continuing.get(pid), item, latest.get(pid) if pid is not None else None)
        session.flush()
        audit.record(session, self.who, "plan.import", "plan", self.year, {
            "file": self.filename, "sha256": self.p.preview.sha256, "new": len(self.p.preview.new),
            "continuing": len(self.p.preview.continuing), "dropped": len(self.p.preview.dropped),
            "replaced": bool(self.p.replaced), **self.counts,
        })

    def _clear_replaced(self) -> None:
        """A --replace removes the year's entries (and programmes listed only that year that hold nothing)."""
        if not self.p.replaced:
            return
        matched = {pid for pid in self.p.matches.values() if pid is not None}
        gone = [pid for pid in self.p.replaced
                if self.session.get(Project, pid).parent_id is None and pid not in matched
                and _only_year(self.session, pid, self.year) and not _holds_data(self.session, pid)]
        if gone:  # in SQL: the database's cascades take its sub-plans, milestones and entries with it
            self.session.execute(sa.delete(Project).where(Project.parent_id.in_(gone)))
            self.session.execute(sa.delete(Project).where(Project.id.in_(gone)))
        self.session.execute(sa.delete(PlanEntry).where(PlanEntry.year_roc == self.year))
        self.session.execute(sa.delete(KpiTarget).where(KpiTarget.year_roc == self.year))
        self.session.flush()
        self.session.expire_all()

    def _systems(self) -> dict[str, System]:
        by_name = {s.name: s for s in self.session.scalars(sa.select(System))}
        for order, item in enumerate(self.data["systems"], start=1):
            if item["name"] not in by_name and not self.session.scalar(sa.select(System).where(System.code == item["code"])):
                by_name[item["name"]] = System(code=item["code"], name=item["name"], sort_order=order)
                self.session.add(by_name[item["name"]])
        return by_name

    def _work_plans(self) -> dict[str, WorkPlan]:
        by_name = {w.name: w for w in self.session.scalars(sa.select(WorkPlan))}
        top = max((w.sort_order for w in by_name.values()), default=0)
        for name in dict.fromkeys(p["work_plan"] for p in self.data["programmes"]):
            if name not in by_name:
                top += 1
                by_name[name] = WorkPlan(name=name, sort_order=top)
                self.session.add(by_name[name])
        return by_name

    def _kpis(self) -> dict[str, Kpi]:
        """Each KPI of the plan: the same KPI as before when its name (or an alias) is the same, else a new one."""
        identity = _kpi_identity(self.session)
        latest = dict(self.session.execute(sa.select(KpiTarget.kpi_id, sa.func.max(KpiTarget.year_roc))
                                           .group_by(KpiTarget.kpi_id)).all())
        found = {}
        for item in self.data["kpis"]:
            kpi = identity.get(fold(item["name"]))
            if kpi is None:
                kpi = next((identity[fold(a)] for a in item.get("aliases", []) if fold(a) in identity), None)
            found[item["code"]] = kpi
        # This year's numbers go to this year's KPIs: a KPI that holds one of them under another number first
        # gives it up (its number in each year stays in kpi_targets).
        codes = set(found)
        for kpi in {k.id: k for k in identity.values()}.values():
            if kpi.code in codes and found.get(kpi.code) is not kpi and latest.get(kpi.id, 0) <= self.year:
                kpi.code = f"~{kpi.id}"
        self.session.flush()
        by_written: dict[str, Kpi] = {}
        for item in self.data["kpis"]:
            kpi = found[item["code"]]
            values = {
                "code": item["code"], "goal_no": item["goal_no"], "goal": item["goal"], "no": item["no"],
                "name": item["name"], "measure": item["measure"], "target_value": Decimal(item["target"]),
                "target_text": item["target_text"], "unit": item["unit"], "direction": item["direction"],
                "evaluation_system": item.get("evaluation_system"), "evaluation_method": item.get("evaluation_method"),
                "related_plan_categories": item.get("related_plan_categories", []),
            }
            if kpi is None:
                kpi = Kpi(aliases=list(item.get("aliases", [])), **values)
                # a later year's KPI holds the number (an earlier plan loaded after a later one): this one waits
                held = self.session.scalar(sa.select(Kpi.id).where(Kpi.code == item["code"]))
                if held is not None:
                    kpi.code = f"~n{len(self.counts)}{self.counts['kpis']}"
                self.session.add(kpi)
                self.session.flush()
                if held is not None:
                    kpi.code = f"~{kpi.id}"
                self.counts["kpis"] += 1
            elif latest.get(kpi.id, 0) <= self.year:
                for name, value in values.items():
                    setattr(kpi, name, value)
                kpi.aliases = list(dict.fromkeys([*(kpi.aliases or []), *item.get("aliases", [])]))
            self.session.add(KpiTarget(kpi_id=kpi.id, year_roc=self.year, **values))
            for name in [item["name"], *item.get("aliases", [])]:
                by_written[name] = kpi
        return by_written

    def _programme(self, project: Project | None, item: dict, latest_year: int | None) -> None:
        seq = item["seq"]
        phase = item.get("phase") or {}
        first, last = item["first_year"], item["last_year"]
        if project is None:
            project = Project(seed_key=self._free_key(f"{self.year}-{seq:02d}"), seq=seq, name=item["name"],
                              name_as_written=item.get("name_as_written") or item["name"],
                              work_plan=self.work_plans[item["work_plan"]], category=item["category"],
                              first_year_roc=first, last_year_roc=last, facts=item.get("facts", {}))
            project.systems = [self.systems[s] for s in item["systems"]]
            self.session.add(project)
            self.session.flush()
            self.counts["programmes"] += 1
        else:
            project.first_year_roc = min(project.first_year_roc, first)
            project.last_year_roc = max(project.last_year_roc, last)
        entry = PlanEntry(project_id=project.id, year_roc=self.year, seq=seq, code=programme_code(seq),
                          name=item["name"], name_as_written=item.get("name_as_written") or item["name"],
                          work_plan_id=self.work_plans[item["work_plan"]].id, category=item["category"],
                          phase_index=phase.get("index"), phase_total=phase.get("total"),
                          content=item.get("content", ""), description="")
        entry.kpi_links = [PlanEntryKpi(kpi_id=self.kpis[name].id, written_name=name, position=i)
                           for i, name in enumerate(item["kpis"])]
        self.session.add(entry)
        self._steps(project, entry, item["milestones"])
        is_current = latest_year is None or latest_year <= self.year
        if is_current:
            self._show(project, entry)
        subs = {s.sub_code: s for s in project.sub_plans} if project.sub_plans else {}
        by_name = {fold(s.name): s for s in project.sub_plans} if project.sub_plans else {}
        for s_seq, sub in enumerate(item["sub_plans"], start=1):
            child = subs.get(sub["code"]) or by_name.get(fold(sub["name"]))
            s_phase = sub.get("phase") or {}
            if child is None:
                child = Project(seed_key=self._free_key(f"{self.year}-{seq:02d}-{sub['code']}"), seq=s_seq,
                                name=sub["name"], name_as_written=sub["name"], work_plan_id=entry.work_plan_id,
                                category=item["category"], first_year_roc=sub["first_year"],
                                last_year_roc=sub["last_year"], parent_id=project.id, sub_code=sub["code"])
                child.systems = list(project.systems)
                self.session.add(child)
                self.session.flush()
                self.counts["sub_plans"] += 1
            else:
                child.first_year_roc = min(child.first_year_roc, sub["first_year"])
                child.last_year_roc = max(child.last_year_roc, sub["last_year"])
            sub_entry = PlanEntry(project_id=child.id, year_roc=self.year, seq=s_seq,
                                  code=sub_plan_code(seq, sub["code"], s_seq), name=sub["name"],
                                  name_as_written=sub["name"], work_plan_id=entry.work_plan_id,
                                  category=item["category"], phase_index=s_phase.get("index"),
                                  phase_total=s_phase.get("total"), sub_code=sub["code"], agency=sub.get("agency"),
                                  description=sub.get("description", ""), content=sub.get("description", ""))
            sub_entry.kpi_links = [PlanEntryKpi(kpi_id=link.kpi_id, written_name=link.written_name, position=link.position)
                                   for link in entry.kpi_links]
            self.session.add(sub_entry)
            self._steps(child, sub_entry, sub.get("milestones", []))
            if is_current:
                self._show(child, sub_entry)

    def _free_key(self, key: str) -> str | None:
        """A seed key for a new project, or None when an earlier project holds it."""
        if key in self.taken_keys:
            return None
        self.taken_keys.add(key)
        return key

    def _show(self, project: Project, entry: PlanEntry) -> None:
        plan_years.show_entry(project, entry)
        project.kpi_links.clear()
        self.session.flush()
        project.kpi_links.extend(ProjectKpi(kpi_id=link.kpi_id, written_name=link.written_name, position=link.position)
                                 for link in entry.kpi_links)

    def _steps(self, project: Project, entry: PlanEntry, items: list[dict]) -> None:
        """The dated steps: one the programme already has (same name) stays one milestone, with its progress."""
        existing = {fold(m.name): m for m in project.milestones}
        top = max((m.seq for m in project.milestones), default=0)
        for position, item in enumerate(items):
            milestone = existing.get(fold(item["name"]))
            if milestone is None:
                start, finish = date.fromisoformat(item["planned_start"]), date.fromisoformat(item["planned_finish"])
                top += 1
                milestone = Milestone(project_id=project.id, seq=top, name=item["name"], source_text=item.get("source", ""),
                                      planned_start_on=start, planned_finish_on=finish,
                                      baseline_start_on=start, baseline_finish_on=finish)
                self.session.add(milestone)
                self.session.flush()
                existing[fold(item["name"])] = milestone
                self.counts["milestones"] += 1
            entry.milestone_links.append(PlanEntryMilestone(milestone_id=milestone.id, position=position))


def plan_as_seed(session: so.Session, year: int) -> dict[str, Any]:
    """Year Y as the database holds it, in the seed's shape (the round trip compares it with the JSON seed)."""
    entries = plan_years.entries_of_year(session, year)
    projects = {p.id: p for p in session.scalars(
        sa.select(Project).where(Project.id.in_(list(entries))).options(so.selectinload(Project.systems)))}
    milestones = {m.id: m for m in session.scalars(sa.select(Milestone).where(Milestone.project_id.in_(list(entries))))}
    targets = list(session.scalars(sa.select(KpiTarget).where(KpiTarget.year_roc == year)
                                   .order_by(KpiTarget.goal_no, KpiTarget.no)))

    def steps(entry: PlanEntry) -> list[dict]:
        return [{"name": milestones[link.milestone_id].name, "source": milestones[link.milestone_id].source_text,
                 "planned_start": milestones[link.milestone_id].baseline_start_on.isoformat(),
                 "planned_finish": milestones[link.milestone_id].baseline_finish_on.isoformat()}
                for link in entry.milestone_links]

    def phase(entry: PlanEntry) -> dict | None:
        return {"index": entry.phase_index, "total": entry.phase_total} if entry.phase_index else None

    tops = sorted((e for pid, e in entries.items() if projects[pid].parent_id is None), key=lambda e: e.seq)
    subs: dict[int, list[PlanEntry]] = {}
    for pid, e in entries.items():
        if projects[pid].parent_id is not None:
            subs.setdefault(projects[pid].parent_id, []).append(e)
    programmes = []
    for e in tops:
        p = projects[e.project_id]
        programmes.append({
            "seq": e.seq, "work_plan": e.work_plan.name, "name": e.name, "name_as_written": e.name_as_written,
            "category": e.category, "systems": [s.name for s in p.systems],
            "kpis": [link.written_name for link in e.kpi_links], "phase": phase(e),
            "first_year": p.first_year_roc, "last_year": p.last_year_roc, "content": e.content,
            "milestones": steps(e),
            "sub_plans": [{"code": s.sub_code, "name": s.name, "description": s.description, "agency": s.agency,
                           "phase": phase(s), "first_year": projects[s.project_id].first_year_roc,
                           "last_year": projects[s.project_id].last_year_roc, "milestones": steps(s)}
                          for s in sorted(subs.get(e.project_id, []), key=lambda s: s.seq)],
        })
    kpis = [{"code": t.code, "goal_no": t.goal_no, "goal": t.goal, "no": t.no, "name": t.name,
             "evaluation_system": t.evaluation_system, "evaluation_method": t.evaluation_method,
             "measure": t.measure, "target_text": t.target_text, "target": _plain(t.target_value), "unit": t.unit,
             "direction": t.direction, "related_plan_categories": list(t.related_plan_categories or []),
             "aliases": list(t.kpi.aliases or [])} for t in targets]
    return {"programmes": programmes, "kpis": kpis}


def _plain(value: Decimal) -> str:
    """A target as the seed writes it: 3800, 87.02 (no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text


class PreviewRefused(Exception):
    """A confirmation that cannot be carried out (expired, someone else's, already applied)."""


def keep_preview(session: so.Session, text: str, year: int, *, filename: str, replace: bool, user_id: int | None,
                 lifetime: timedelta) -> str:
    """Keep an uploaded plan for its confirmation; the token the confirmation form carries. The caller commits."""
    clean_previews(session, lifetime)
    token = secrets.token_urlsafe(32)
    session.add(PlanPreviewRow(token=token, user_id=user_id, filename=(filename or "")[:255], year_roc=year,
                               is_replace=replace, text=text))
    session.flush()
    return token


def clean_previews(session: so.Session, lifetime: timedelta) -> int:
    """Delete plan previews older than ``lifetime``; how many."""
    return session.execute(sa.delete(PlanPreviewRow).where(PlanPreviewRow.created_at < utcnow() - lifetime)).rowcount


def kept_preview(session: so.Session, token: str, user_id: int | None, lifetime: timedelta) -> PlanPreviewRow:
    """A kept plan preview of this user, not expired; else PreviewRefused saying why."""
    row = session.scalars(sa.select(PlanPreviewRow).where(PlanPreviewRow.token == (token or ""))).one_or_none()
    if row is None:
        raise PreviewRefused("找不到這份預覽（可能已載入或已逾時），請重新上傳")
    if row.user_id != user_id:
        raise PreviewRefused("只有上傳這份預覽的人可以確認載入")
    if as_utc(row.created_at) < utcnow() - lifetime:
        raise PreviewRefused(f"預覽已逾時（超過 {int(lifetime.total_seconds() // 60)} 分鐘），未寫入任何資料，請重新上傳")
    return row
