"""The import history: every ledger import with the figure rows it created or replaced, and its undo."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Action
from tracker.models import (
    Budget,
    LedgerImport,
    LedgerImportChange,
    MonthEnd,
    Project,
    as_utc,
    utcnow,
)
from tracker.services import audit, plan_years
from tracker.services.accounts import check_may
from tracker.services.ledger_import import Change, ImportResult

_TABLES = {"budgets": Budget, "month_end_figures": MonthEnd}
#: LedgerImport.filename and .actor sizes.
_FILENAME_LENGTH = 255
_ACTOR_LENGTH = 64


class UndoRefused(Exception):
    """An import that cannot be undone; the message says why, in Chinese."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def _amounts_json(amounts: dict[str, Decimal] | None) -> dict[str, str] | None:
    return None if amounts is None else {field: _plain(value) for field, value in amounts.items()}


def start_import(session: so.Session, who: audit.Who, filename: str, data: bytes,
                 result: ImportResult) -> LedgerImport:
    """The history row of an import about to be written (flushed, so it has its id)."""
    entry = LedgerImport(
        user_id=who.user_id, actor=who.name[:_ACTOR_LENGTH], filename=(filename or "")[:_FILENAME_LENGTH],
        sha256=sha256_of(data), kind=result.kind, rows=result.rows, created=result.created,
        replaced=result.replaced, unchanged=result.unchanged, is_correction=result.is_correction)
    session.add(entry)
    session.flush()
    return entry


def record_changes(session: so.Session, entry: LedgerImport, changes: list[Change]) -> None:
    """One LedgerImportChange per row the import created or replaced (written, so the record ids are known)."""
    session.add_all([
        LedgerImportChange(import_id=entry.id, table_name=change.table, record_id=change.record_id,
                           key=dict(change.key), before=_amounts_json(change.before),
                           after=_amounts_json(change.after))
        for change in changes if change.action != "unchanged"])


@dataclass(frozen=True)
class HistoryRow:
    """One import as the history lists it."""

    id: int
    sha256: str
    user: str
    at: datetime
    filename: str
    kind: str
    rows: int
    created: int
    replaced: int
    unchanged: int
    is_correction: bool
    undone_at: datetime | None
    undone_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "sha256": self.sha256, "user": self.user,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "filename": self.filename, "kind": self.kind, "rows": self.rows, "created": self.created,
            "replaced": self.replaced, "unchanged": self.unchanged, "correction": self.is_correction,
            "undone": self.undone_at is not None,
            "undone_at": None if self.undone_at is None else
            self.undone_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "undone_by": self.undone_by,
        }


def list_imports(session: so.Session, limit: int | None = None) -> list[HistoryRow]:
    """Every import, newest first."""
    query = sa.select(LedgerImport).order_by(LedgerImport.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [HistoryRow(id=e.id, sha256=e.sha256, user=e.actor, at=as_utc(e.at), filename=e.filename, kind=e.kind,
                       rows=e.rows, created=e.created, replaced=e.replaced, unchanged=e.unchanged,
                       is_correction=e.is_correction, undone_at=as_utc(e.undone_at), undone_by=e.undone_by)
            for e in session.scalars(query)]


def _key_of(table_name: str, key: dict[str, Any]) -> tuple:
    return (table_name, key["project_id"], key["year_roc"], key.get("month"), key["kind"])


def latest_month(entry: LedgerImport) -> tuple[int, int] | None:
    """The latest (ROC year, month) among a month-end import's rows, None for a budgets import."""
    months = [(c.key["year_roc"], c.key["month"]) for c in entry.changes if c.table_name == "month_end_figures"]
    return max(months, default=None)


@dataclass
class UndoResult:
    """What an undo did; ``latest_month`` lets rescan_after_import judge the alerts again."""

    import_id: int
    kind: str
    deleted: int
    restored: int
    latest_month: tuple[int, int] | None


def _check_budgets_still_cover_allocations(session: so.Session, entry: LedgerImport) -> None:
    """After undoing a budgets import, every cumulative allocation (累計分配數) already imported must still be
    within its restored available budget (可支用預算數); else the undo is refused (the caller rolls back)."""
    session.flush()
    keys = {(c.key["project_id"], c.key["year_roc"], c.key["kind"]) for c in entry.changes}
    for project_id, year_roc, kind in sorted(keys):
        allocated = session.scalar(sa.select(sa.func.max(MonthEnd.allocated)).where(
            MonthEnd.project_id == project_id, MonthEnd.year_roc == year_roc, MonthEnd.kind == kind,
            MonthEnd.is_synthetic.is_(False)))
        if not allocated:
            continue
        budget = session.scalars(sa.select(Budget).where(
            Budget.project_id == project_id, Budget.year_roc == year_roc, Budget.kind == kind,
            Budget.is_synthetic.is_(False))).one_or_none()
        available = budget.available if budget is not None else Decimal(0)
        if allocated > available:
            raise UndoRefused(f"復原第 {entry.id} 次匯入後，計畫編號 {_code_of(session, project_id)} 的 {year_roc} 年度"
                              f"可支用預算數 {available:,.0f} 千元將低於已匯入的累計分配數 {allocated:,.0f} 千元，"
                              f"請先更正月報的分配數")


def _code_of(session: so.Session, project_id: int) -> str:
    return session.scalar(sa.select(Project.code).where(Project.id == project_id)) or str(project_id)


def undo_import(session: so.Session, import_id: int, who: audit.Who) -> UndoResult:
    """Undo every row of one import (created rows deleted, replaced rows restored), audited; the caller commits.

    Refused (UndoRefused) when the import does not exist, is already undone, or a later import that is not undone
    changed the same figure rows.
    """
    check_may(session, who, Action.EDIT_BUDGET)
    entry = session.get(LedgerImport, import_id, with_for_update=True)
    if entry is None:
        raise UndoRefused(f"找不到第 {import_id} 次匯入")
    if entry.undone_at is not None:
        raise UndoRefused(f"第 {import_id} 次匯入已於先前復原，不能再復原一次")
    for year_roc in sorted({c.key["year_roc"] for c in entry.changes}):
        try:
            plan_years.ensure_open(session, year_roc, field="year")
        except plan_years.YearClosedError as exc:
            raise UndoRefused(f"第 {import_id} 次匯入不能復原：{exc.message}") from None
    mine = {_key_of(c.table_name, c.key) for c in entry.changes}
    later = session.execute(
        sa.select(LedgerImportChange.import_id, LedgerImportChange.table_name, LedgerImportChange.key)
        .join(LedgerImport, LedgerImport.id == LedgerImportChange.import_id)
        .where(LedgerImport.id > import_id, LedgerImport.undone_at.is_(None))
        .order_by(LedgerImport.id.desc()))
    for later_id, table_name, key in later:
        if _key_of(table_name, key) in mine:
            raise UndoRefused(f"第 {import_id} 次匯入之後，第 {later_id} 次匯入又變更了相同的數字，"
                              f"請先復原第 {later_id} 次")
    deleted = restored = 0
    for change in entry.changes:
        table = _TABLES[change.table_name]
        record = session.get(table, change.record_id, with_for_update=True) if change.record_id is not None else None
        if change.before is None:
            if record is not None:
                session.delete(record)
                deleted += 1
            continue
        if record is None:
            raise UndoRefused(f"第 {import_id} 次匯入更新過的資料列已不存在，無法復原")
        for field, value in change.before.items():
            setattr(record, field, Decimal(value))
        audit.record(session, who, "ledger.replace", "month_end" if table is MonthEnd else "budget", record.id,
                     {field: [change.after.get(field), value] for field, value in change.before.items()
                      if change.after.get(field) != value})
        restored += 1
    if entry.kind == "budgets":
        _check_budgets_still_cover_allocations(session, entry)
    entry.undone_at = utcnow()
    entry.undone_by = who.name[:_ACTOR_LENGTH]
    audit.record(session, who, "ledger.undo", "ledger_import", import_id, {
        "kind": entry.kind, "filename": entry.filename, "sha256": entry.sha256,
        "deleted": deleted, "restored": restored})
    session.flush()
    return UndoResult(import_id=import_id, kind=entry.kind, deleted=deleted, restored=restored,
                      latest_month=latest_month(entry))
