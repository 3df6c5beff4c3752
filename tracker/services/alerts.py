"""The alerts' life cycle: scans open, update and resolve them (reconcile); budget officers and
managers acknowledge them; pages and reports list them. The scans themselves live in
services.execution_scan and services.schedule_scan."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Action, may, sees_all_projects
from tracker.domain.errors import FieldError
from tracker.models import ALERT_STATUSES, Alert, Project, System, User, project_systems, utcnow
from tracker.services import audit
from tracker.services.accounts import actor_of

KIND_LABELS = {
    "LOW_EXECUTION": "分配預算執行率偏低",
    "BELOW_TARGET": "預估未達執行率目標",
    "OVERDUE": "逾期未完成",
    "LAGGING": "進度落後",
    "FORECAST_SLIP": "預估完成日延後",
    "NOT_REPORTED": "未填報進度",
    "BACK_LOADED": "進度後段集中",
}
SEVERITIES = ("critical", "warning", "info")
#: Stored beside the severity: higher is worse, so "worst first" reads an index backwards.
SEVERITY_RANKS = {"critical": 2, "warning": 1, "info": 0}


class AlertError(FieldError):
    """A refused action on an alert; ``field`` names the input at fault."""


@dataclass(frozen=True)
class Finding:
    """A condition a scan found on a project (or one of its milestones)."""

    kind: str
    severity: str
    project_id: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    milestone_id: int | None = None


@dataclass
class ScanResult:
    """What a scan changed."""

    opened: int = 0
    updated: int = 0
    resolved: int = 0
    #: How many programmes (projects, for the execution scan) were judged; None when all were.
    judged: int | None = None

    def summary(self) -> str:
        """One line for the CLI and the run log."""
        line = f"{self.opened} opened, {self.updated} updated, {self.resolved} resolved"
        if self.judged is not None:
            line += f" (incremental: {self.judged} changed since the last scan)"
        return line


def open_key(kind: str, project_id: int, milestone_id: int | None) -> str:
    """The key that allows one unresolved alert per kind, project and milestone."""
    return f"{kind}:{project_id}:{milestone_id or 0}"


def _digest(severity: str, message: str, details: dict, is_synthetic: bool) -> str:
    """What a rescan compares to tell whether an alert changed."""
    # details hold str, int and None, their keys in the order the rule writes them (always the same)
    text = f"{severity}\x1e{is_synthetic}\x1e{message}\x1e{details!r}"
    return hashlib.blake2b(text.encode("utf-8"), digest_size=20).hexdigest()


def reconcile(session: so.Session, kinds: Iterable[str], findings: list[Finding], as_of: date,
              is_synthetic: bool = False, project_ids: sa.Select | list[int] | None = None) -> ScanResult:
    """Make the unresolved alerts of these kinds match the findings: open new, update changed, resolve the rest.

    Reads plain columns (a digest, not the details) and writes in bulk, and leaves an unchanged alert
    untouched, so a rescan of a national portfolio costs little more than judging it. ``project_ids``
    (ids, or a select of them) limits the reconciliation to the alerts of those projects, for a scan
    that judged only them.
    """
    kinds = tuple(kinds)
    result = ScanResult()
    query = sa.select(Alert.id, Alert.open_key, Alert.digest).where(Alert.kind.in_(kinds), Alert.status != "resolved")
    if project_ids is not None:
        query = query.where(Alert.project_id.in_(project_ids))
    unresolved = {row.open_key: row for row in session.connection().execute(query).all()}  # Core rows: no ORM per row
    now = utcnow()
    seen, new, changed = set(), [], []
    for finding in findings:
        key = open_key(finding.kind, finding.project_id, finding.milestone_id)
        if key in seen:
            continue
        seen.add(key)
        digest = _digest(finding.severity, finding.message, finding.details, is_synthetic)
        row = unresolved.get(key)
        if row is not None and row.digest == digest:
            continue
        values = {"severity": finding.severity, "severity_rank": SEVERITY_RANKS[finding.severity],
                  "message": finding.message, "details": finding.details, "is_synthetic": is_synthetic, "digest": digest}
        if row is None:
            new.append({"kind": finding.kind, "project_id": finding.project_id, "milestone_id": finding.milestone_id,
                        "open_key": key, "status": "open", "as_of": as_of, "opened_at": now, "updated_at": now,
                        **values})
        else:
            changed.append({"id": row.id, "as_of": as_of, "updated_at": now, **values})
    gone = [row.id for key, row in unresolved.items() if key not in seen]
    if new:
        session.execute(sa.insert(Alert), new)
    if changed:
        session.execute(sa.update(Alert), changed)
    for start in range(0, len(gone), 500):
        session.execute(sa.update(Alert).where(Alert.id.in_(gone[start:start + 500]))
                        .values(status="resolved", resolved_at=now, open_key=None, as_of=as_of, updated_at=now)
                        .execution_options(synchronize_session=False))
    result.opened, result.updated, result.resolved = len(new), len(changed), len(gone)
    if new or changed or gone:
        session.expire_all()  # alerts loaded earlier in this session must not show what was just replaced
    return result


def _visible(query, user: User | None):
    """Project managers see their own system's alerts; everyone else, and reports made by the system, see all."""
    if user is None or sees_all_projects(actor_of(user)):
        return query
    system_id = user.system_id if user is not None else None
    return query.where(Alert.project_id.in_(
        sa.select(project_systems.c.project_id).where(project_systems.c.system_id == system_id)))


def list_alerts(session: so.Session, user: User | None, status: str | None = None, kind: str | None = None,
                page: int = 1, page_size: int = 100) -> tuple[list[Alert], int]:
    """Alerts the user may see, worst first; status None means every unresolved one."""
    if status is not None and status not in ALERT_STATUSES:
        raise AlertError("status", f"須為 {'、'.join(ALERT_STATUSES)} 之一")
    if kind is not None and kind not in KIND_LABELS:
        raise AlertError("kind", f"須為 {'、'.join(KIND_LABELS)} 之一")
    query = sa.select(Alert)
    query = query.where(Alert.status == status) if status else query.where(Alert.status != "resolved")
    if kind:
        query = query.where(Alert.kind == kind)
    query = _visible(query, user)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    alerts = list(session.scalars(
        query.order_by(Alert.severity_rank.desc(), Alert.opened_at.desc(), Alert.id.desc())
        .limit(page_size).offset((max(1, page) - 1) * page_size)
        .options(so.joinedload(Alert.project).selectinload(Project.systems), so.joinedload(Alert.acknowledged_by))
    ).unique())
    return alerts, total


def acknowledge(session: so.Session, alert_id: int, user: User, comment: str, who: audit.Who) -> Alert:
    """Acknowledge an unresolved alert with a comment; only those who may act on the project may."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertError("alert", f"沒有編號 {alert_id} 的警示")
    codes = [s.code for s in session.scalars(
        sa.select(System).join(project_systems, project_systems.c.system_id == System.id)
        .where(project_systems.c.project_id == alert.project_id))]
    if not may(actor_of(user), Action.ACKNOWLEDGE_ALERT, codes):
        raise PermissionError("not allowed to acknowledge this alert")
    comment = (comment or "").strip()
    if not comment:
        raise AlertError("comment", "請填寫處理說明")
    if len(comment) > 1000:
        raise AlertError("comment", "處理說明不可超過 1000 字")
    if alert.status == "resolved":
        raise AlertError("alert", "此警示已解除，無需確認")
    old = (alert.status, alert.acknowledgement)
    alert.status, alert.acknowledgement = "acknowledged", comment
    alert.acknowledged_at, alert.acknowledged_by_id = utcnow(), user.id
    audit.record(session, who, "alert.acknowledge", "alert", alert.id,
                 {"status": [old[0], "acknowledged"], "acknowledgement": [old[1], comment]})
    return alert
