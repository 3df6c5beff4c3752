"""The data stamp: one value changed by every commit that changes the portfolio (caches keyed by it: services.cache).

Pages that every user opens many times a day (the portfolio, its lights) are expensive to build and
change only when someone writes. Each session notes whether it wrote to a table that pages show; if
it did, its commit gives the stamp a new value in the same transaction. A cache keyed by the stamp
is therefore never older than the data: any process's commit (a web worker, the scheduler, the CLI)
makes every worker build afresh on its next request, and reading the stamp is one primary-key read.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import DataStamp

#: Tables whose writes no page cache depends on: bookkeeping written on every login, scan or job.
UNSTAMPED_TABLES = frozenset({"audit_log", "login_attempts", "api_tokens", "job_runs", "users", "data_stamps",
                              "scan_states", "user_sessions"})
_CHANGED = "tracker.data_changed"


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


#: The session events the stamp listens to, and their handlers.
_LISTENERS = (("after_flush", _after_flush), ("do_orm_execute", _do_orm_execute),
              ("before_commit", _before_commit), ("after_rollback", _forget))


def install(factory: so.sessionmaker) -> so.sessionmaker:
    """Make the sessions of this factory change the stamp when they commit a change pages show.

    On the app's sessionmaker (db.make_sessionmaker), which the web, the scheduler, the CLI and
    scripts all open their sessions from; a session made any other way is left alone.
    """
    for name, handler in _LISTENERS:
        if not sa.event.contains(factory, name, handler):
            sa.event.listen(factory, name, handler)
    return factory


def is_installed(factory: so.sessionmaker | type[so.Session]) -> bool:
    """Whether the sessions of this factory (or class) keep the stamp."""
    return all(sa.event.contains(factory, name, handler) for name, handler in _LISTENERS)


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
