"""The audit log: one entry for every write and every login."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import AuditEntry


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
