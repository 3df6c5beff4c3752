"""Systems (檢察, 調查, 矯正 …) found by the name the plan writes or by their short code: the one lookup."""
from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import System


def system_is(text: str):
    """The SQL condition 「System is the one named text」: its name as written (檢察) or its code in any case."""
    text = (text or "").strip()
    return sa.or_(System.name == text, System.code == text.lower())


def find_system_id(session: so.Session, text: str) -> int | None:
    """The id of the system named text (name or code), or None when no system is called that."""
    return session.scalar(sa.select(System.id).where(system_is(text)))


def find_system_row(session: so.Session, text: str) -> System | None:
    """The system named text (name or code), or None."""
    return session.scalar(sa.select(System).where(system_is(text)))
