"""The audit log: one entry for every write and every login."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain import audit_labels
from tracker.domain.roc import RocDateError, format_roc_date, parse_date
from tracker.models import Alert, AuditEntry, Budget, Milestone, MonthEnd, Project, User, as_utc


@dataclass(frozen=True)
class Who:
    """The one acting: a user, or a process such as the CLI, the seed loader or the scheduler."""

    name: str
    user_id: int | None = None
    remote_addr: str | None = None


CLI = Who("cli")
SEED = Who("seed")


def jsonable(value: Any) -> Any:
    """A value as it can be kept in the log's JSON column."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def record(
    session: so.Session,
    who: Who,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session (it is written with the change it describes)."""
    entry = AuditEntry(
        user_id=who.user_id,
        actor=who.name,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=jsonable(changes or {}),
        remote_addr=who.remote_addr,
    )
    session.add(entry)
    return entry


def entries_for(session: so.Session, entity_type: str, entity_id: Any, limit: int = 100) -> list[AuditEntry]:
    """The latest audit entries about one entity, newest first."""
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def history_of_project(session: so.Session, project_id: int, milestone_ids: list[int], limit: int = 50) -> list[AuditEntry]:
    """The latest entries about a project and its milestones, newest first."""
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(sa.or_(
                sa.and_(AuditEntry.entity_type == "project", AuditEntry.entity_id == str(project_id)),
                sa.and_(AuditEntry.entity_type == "milestone", AuditEntry.entity_id.in_([str(i) for i in milestone_ids])),
            ))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


# --- Reading the log: the audit viewer (稽核紀錄), its CSV export and GET /api/v1/audit ----------------

#: The timezone whose days the date filters name, unless the caller passes the configured one.
DEFAULT_TIMEZONE = "Asia/Taipei"
#: Entries read per query while exporting: memory stays bounded however long the log is.
EXPORT_BATCH = 1000
#: The processes that act without an account (Who.name of the CLI, the seed loader, the scheduler).
PROCESS_ACTORS = ("cli", "seed", "scheduler")
_NAME_MAX = 64  #: users.name / audit_log.actor
_ACTION_MAX = 40  #: audit_log.action
_ACTION_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]*)*$")
#: Cells a spreadsheet would read as a formula (CSV injection); such a cell gets a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Entity types keyed to a project row through a project_id column (the entry's entity_id is the row's id).
_PROJECT_CHILDREN = {"milestone": Milestone, "alert": Alert, "budget": Budget, "month_end": MonthEnd}


class AuditFilterError(ValueError):
    """Filters that cannot be read; ``errors`` maps each bad query parameter to why."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class AuditFilter:
    """What the reader narrowed the log to; every part is optional."""

    user: str | None = None  #: the actor's name: an account, or a process such as cli
    #: a programme or sub-plan: entries about it, its sub-plans, their milestones, alerts and figures
    project_id: int | None = None
    action: str | None = None  #: an exact code (login.failed) or, ending in a dot, a family (login.)
    from_on: date | None = None  #: the first day, in the configured timezone
    to_on: date | None = None  #: the last day, inclusive


def _find_project(session: so.Session, text: str, by_name: bool, errors: dict[str, str]) -> int | None:
    """A project named by its id or, where allowed, by words of its name (one programme must match)."""
    if text.isdigit():
        project_id = int(text)
        if project_id > 2**31 - 1 or session.get(Project, project_id) is None:
            errors["project"] = f"沒有編號 {text} 的計畫"
            return None
        return project_id
    if not by_name:
        errors["project"] = f"須為計畫編號（整數），而非「{text}」"
        return None
    rows = session.execute(
        sa.select(Project.id, Project.name, Project.parent_id)
        .where(Project.name.contains(text[:200], autoescape=True)).order_by(Project.id).limit(21)
    ).all()
    programmes = [r for r in rows if r.parent_id is None]
    if len(rows) == 1:
        return rows[0].id
    # A programme and some of its own sub-plans: the programme covers them.
    if len(programmes) == 1 and all(r.parent_id in (None, programmes[0].id) for r in rows):
        return programmes[0].id
    if not rows:
        errors["project"] = f"沒有名稱含「{text}」的計畫"
    else:
        listed = "、".join(f"{r.name}（{r.id}）" for r in rows[:5])
        errors["project"] = f"名稱含「{text}」的計畫不只一個，請輸入計畫編號：{listed}{'…' if len(rows) > 5 else ''}"
    return None


def parse_filter(session: so.Session, args: Mapping[str, Any], project_names: bool = False) -> AuditFilter:
    """Read the filters user, project, action, from and to; AuditFilterError names every bad one.

    Dates are typed the ROC way (106/7/15, 106年7月15日) or ISO (2017-07-15); ``project`` is an id, or
    with ``project_names`` also words of a project's name.
    """
    errors: dict[str, str] = {}
    user = (args.get("user") or "").strip() or None
    if user is not None and len(user) > _NAME_MAX:
        errors["user"] = f"帳號名稱至多 {_NAME_MAX} 個字元"
    action = (args.get("action") or "").strip() or None
    if action is not None and (len(action) > _ACTION_MAX or not _ACTION_SHAPE.match(action)):
        errors["action"] = f"無法辨識的動作代碼「{action[:_ACTION_MAX]}」：例如 login.failed，或以句點結尾的類別 login."
    project_text = (args.get("project") or "").strip()
    project_id = _find_project(session, project_text, project_names, errors) if project_text else None
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        text = (args.get(name) or "").strip()
        days[name] = None
        if text:
            try:
                days[name] = parse_date(text)
            except RocDateError as exc:
                errors[name] = str(exc)
    if days["from"] and days["to"] and days["to"] < days["from"]:
        errors["to"] = f"不可早於起日（{format_roc_date(days['from'])}）"
    if errors:
        raise AuditFilterError(errors)
    return AuditFilter(user=user, project_id=project_id, action=action, from_on=days["from"], to_on=days["to"])


def utc_bounds(from_on: date | None, to_on: date | None,
               tz: str = DEFAULT_TIMEZONE) -> tuple[datetime | None, datetime | None]:
    """Local days from..to (inclusive) as UTC [start, end): 106/7/15 in Taipei is 07-14 16:00Z to 07-15 16:00Z."""
    zone = ZoneInfo(tz)

    def start_of(day: date, days_later: int = 0) -> datetime | None:
        # Day one and the last day a date can name have no Taipei midnight in UTC (or no next day): such a bound
        # includes every entry on its side, so it is no bound at all.
        try:
            return datetime.combine(day + timedelta(days=days_later), time(0), tzinfo=zone).astimezone(timezone.utc)
        except OverflowError:
            return None

    return (start_of(from_on) if from_on else None, start_of(to_on, 1) if to_on else None)


def _project_scope(session: so.Session, project_id: int) -> sa.ColumnElement[bool]:
    """Entries about a project, its sub-plans, and the milestones, alerts and figures keyed to them."""
    projects = sa.select(Project.id).where(sa.or_(Project.id == project_id, Project.parent_id == project_id))
    # The few ids are read first (one query), so each branch is an index lookup on (entity_type, entity_id)
    # instead of a pass over every milestone entry of the log.
    keyed = sa.union_all(
        sa.select(sa.literal("project"), Project.id).where(Project.id.in_(projects)),
        *(sa.select(sa.literal(entity_type), model.id).where(model.project_id.in_(projects))
          for entity_type, model in _PROJECT_CHILDREN.items()))
    ids: dict[str, list[str]] = {}
    for entity_type, row_id in session.execute(keyed):
        ids.setdefault(entity_type, []).append(str(row_id))
    return sa.or_(*(sa.and_(AuditEntry.entity_type == entity_type, AuditEntry.entity_id.in_(values))
                    for entity_type, values in ids.items()))


def _conditions(session: so.Session, flt: AuditFilter, tz: str) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a filter (each one served by an index of audit_log)."""
    where: list[sa.ColumnElement[bool]] = []
    if flt.user:
        account = session.scalar(sa.select(User.id).where(User.name == flt.user))
        if account is None:  # a process (cli, seed), or a name typed at a failed login
            where.append(AuditEntry.actor == flt.user)
        else:  # the account's entries, and its failed logins (written before anyone was logged in)
            where.append(sa.or_(AuditEntry.user_id == account,
                                sa.and_(AuditEntry.user_id.is_(None), AuditEntry.actor == flt.user)))
    if flt.project_id is not None:
        where.append(_project_scope(session, flt.project_id))
    if flt.action:
        where.append(AuditEntry.action.startswith(flt.action, autoescape=True) if flt.action.endswith(".")
                     else AuditEntry.action == flt.action)
    start, end = utc_bounds(flt.from_on, flt.to_on, tz)
    if start is not None:
        where.append(AuditEntry.at >= start)
    if end is not None:
        where.append(AuditEntry.at < end)
    return where


@dataclass(frozen=True)
class AuditPage:
    """One page of the filtered log, newest first."""

    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the filtered log fills (at least one)."""
        return max(1, -(-self.total // self.per_page))


def search_entries(session: so.Session, filters: AuditFilter, page: int = 1, per_page: int = 100,
                   tz: str = DEFAULT_TIMEZONE) -> AuditPage:
    """The entries matching the filters, newest first, one page (counted and paged in SQL)."""
    where = _conditions(session, filters, tz)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*where)) or 0
    page = max(1, page)
    entries = list(session.scalars(
        sa.select(AuditEntry).where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return AuditPage(entries, total, page, per_page)


@dataclass(frozen=True)
class AuditRow:
    """An entry as the viewer and the CSV export show it: local time, words for codes and fields."""

    entry: AuditEntry
    at_text: str  #: 「106年7月15日 01:30:00」 in the configured timezone
    action_label: str
    entity_label: str
    subject: str  #: the account's name, the KPI's code, the file's name, or the row's id
    project_id: int | None  #: the project the entry is about or keyed to
    project_name: str | None
    changes: list[audit_labels.ChangeLine] = field(default_factory=list)


def _int_ids(entries: list[AuditEntry], entity_type: str) -> set[int]:
    return {int(e.entity_id) for e in entries
            if e.entity_type == entity_type and e.entity_id and e.entity_id.isdigit() and len(e.entity_id) < 10}


def describe_entries(session: so.Session, entries: list[AuditEntry], tz: str = DEFAULT_TIMEZONE) -> list[AuditRow]:
    """Entries in words, each with the project it concerns (a few queries per page, none per entry)."""
    zone = ZoneInfo(tz)
    project_of: dict[tuple[str, int], int] = {("project", i): i for i in _int_ids(entries, "project")}
    for entity_type, model in _PROJECT_CHILDREN.items():
        ids = _int_ids(entries, entity_type)
        if ids:
            project_of.update({(entity_type, row_id): pid for row_id, pid in session.execute(
                sa.select(model.id, model.project_id).where(model.id.in_(ids)))})
    wanted = set(project_of.values())
    names = (dict(session.execute(sa.select(Project.id, Project.name).where(Project.id.in_(wanted))).all())
             if wanted else {})
    user_ids = _int_ids(entries, "user")
    accounts = (dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all())
                if user_ids else {})
    rows = []
    for e in entries:
        key = int(e.entity_id) if e.entity_id and e.entity_id.isdigit() and len(e.entity_id) < 10 else None
        project_id = project_of.get((e.entity_type, key)) if key is not None else None
        if project_id is not None and project_id not in names:
            project_id = None  # deleted since
        if e.entity_type == "user" and key in accounts:
            subject = accounts[key]
        elif e.entity_id is None:
            subject = ""
        else:
            subject = e.entity_id if key is None else f"#{e.entity_id}"
        rows.append(AuditRow(
            entry=e, at_text=audit_labels.local_time_text(e.at, zone),
            action_label=audit_labels.action_label(e.action), entity_label=audit_labels.entity_label(e.entity_type),
            subject=subject, project_id=project_id, project_name=names.get(project_id) if project_id else None,
            changes=audit_labels.change_lines(e.entity_type, e.changes, zone, e.action)))
    return rows


def known_actions() -> list[tuple[str, str]]:
    """The action codes and families a reader can filter by, with their words."""
    return [*audit_labels.ACTION_GROUP_LABELS.items(), *audit_labels.ACTION_LABELS.items()]


def csv_cell(value: Any) -> str:
    """A cell as text, with a leading quote when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_header(tz: str) -> list[str]:
    return [f"時間（{tz}）", "時間（UTC）", "操作者", "動作", "動作代碼", "對象", "對象代碼", "對象編號",
            "計畫編號", "計畫", "異動內容", "來源位址", "紀錄編號"]


def _csv_line(row: AuditRow) -> list[str]:
    e = row.entry
    at = as_utc(e.at)
    return [csv_cell(v) for v in (
        row.at_text, at.astimezone(timezone.utc).isoformat(), e.actor, row.action_label, e.action,
        row.entity_label, e.entity_type, e.entity_id, row.project_id, row.project_name,
        "；".join(str(line) for line in row.changes), e.remote_addr, e.id)]


def export_csv(session: so.Session, filters: AuditFilter, tz: str = DEFAULT_TIMEZONE,
               batch_size: int = EXPORT_BATCH) -> Iterator[bytes]:
    """The filtered log as CSV in UTF-8 with BOM (Excel opens it), newest first, read batch by batch.

    Each batch starts after the last entry written (keyset on at, id), so memory stays bounded and an
    entry written meanwhile is neither repeated nor skips others.
    """
    where = _conditions(session, filters, tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(_csv_header(tz))
    yield "\ufeff".encode("utf-8") + flush()
    last: AuditEntry | None = None
    while True:
        query = sa.select(AuditEntry).where(*where)
        if last is not None:
            query = query.where(sa.or_(AuditEntry.at < last.at,
                                       sa.and_(AuditEntry.at == last.at, AuditEntry.id < last.id)))
        batch = list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(batch_size)))
        if not batch:
            return
        for row in describe_entries(session, batch, tz):
            writer.writerow(_csv_line(row))
        yield flush()
        last = batch[-1]
        for entry in batch:  # written: let the session forget them
            session.expunge(entry)
        if len(batch) < batch_size:
            return
