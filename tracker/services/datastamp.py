"""The data stamp: one value changed by every commit that changes the portfolio, and caches keyed by it.

Pages that every user opens many times a day (the portfolio, its lights) are expensive to build and
change only when someone writes. Each session notes whether it wrote to a table that pages show; if
it did, its commit gives the stamp a new value in the same transaction. A cache keyed by the stamp
is therefore never older than the data: any process's commit (a web worker, the scheduler, the CLI)
makes every worker build afresh on its next request, and reading the stamp is one primary-key read.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import DataStamp

#: Tables whose writes no page cache depends on: bookkeeping written on every login, scan or job.
UNSTAMPED_TABLES = frozenset({"audit_log", "login_attempts", "api_tokens", "job_runs", "users", "data_stamps",
                              "scan_states", "user_sessions"})
_CHANGED = "tracker.data_changed"

T = TypeVar("T")


def _stamped(table_names) -> bool:
    return any(name not in UNSTAMPED_TABLES for name in table_names)


def _table_of(entity) -> str | None:
    table = getattr(getattr(entity, "__table__", None), "name", None)
    return table


def _after_flush(session: so.Session, _context) -> None:
    touched = {_table_of(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if _stamped(name for name in touched if name):
        session.info[_CHANGED] = True


def _do_orm_execute(state: so.ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and _stamped([table.name]):
            state.session.info[_CHANGED] = True


def _before_commit(session: so.Session) -> None:
    session.flush()  # what is still pending is written now, so it counts
    if session.info.pop(_CHANGED, False):
        bump(session)


def _forget(session: so.Session, *_args) -> None:
    session.info.pop(_CHANGED, None)


def _install() -> None:
    """Make every session (the app's, the CLI's, the scheduler's, a script's) change the stamp when it
    commits a change pages show: on the Session class, so no write path can forget it."""
    sa.event.listen(so.Session, "after_flush", _after_flush)
    sa.event.listen(so.Session, "do_orm_execute", _do_orm_execute)
    sa.event.listen(so.Session, "before_commit", _before_commit)
    sa.event.listen(so.Session, "after_rollback", _forget)


def bump(session: so.Session) -> None:
    """Give the stamp a new value (in the caller's transaction).

    A random value rather than a count: a database restored from a backup, or emptied and filled
    again, can never come back to a stamp some cache already holds.
    """
    value = secrets.randbits(62) or 1
    raised = session.execute(sa.update(DataStamp).where(DataStamp.id == 1).values(version=value)
                             .execution_options(synchronize_session=False))
    if raised.rowcount == 0:  # a schema created without the migration's first row
        session.execute(sa.insert(DataStamp).values(id=1, version=value))


def current(session: so.Session) -> int | None:
    """The stamp now (0 in a database nothing was ever written to); None while this session holds
    uncommitted changes, which no cache may serve nor keep."""
    if session.info.get(_CHANGED) or session.new or session.dirty or session.deleted:
        return None
    return session.scalar(sa.select(DataStamp.version).where(DataStamp.id == 1)) or 0


class StampedCache:
    """A small, thread-safe, least-recently-used cache whose entries are valid for one stamp.

    Each process has its own; the stamp in the database keeps them all honest.
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, stamp: int | None, key: Hashable, build: Callable[[], T]) -> T:
        """The value cached for this key at this stamp, else build() (cached for next time; never for stamp None)."""
        if stamp is None:
            return build()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[return-value]
        value = build()
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


_install()
