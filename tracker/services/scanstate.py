"""What each scan last judged, so the next scan on the same date judges only what changed since.

A scan stores one row with its date and settings (project 0) and one fingerprint per programme (or
project) of everything its rules read. The next scan computes the fingerprints again, in SQL
aggregates that cost a fraction of judging, and re-judges only those that differ. A new date, new
settings (thresholds) or new rules (RULES_VERSION, stored in the scan's own row) change every
judgement, so they mean a full scan.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tracker.models import ScanState
from tracker.services.rules_version import RULES_VERSION

#: The row that holds the scan's own date and settings.
SETTINGS_ROW = 0
#: Beyond this many changed programmes, judging everything is as quick as judging them one by one.
MAX_INCREMENTAL = 1000


def digest(*parts: object) -> str:
    """A short fingerprint of some values."""
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def fingerprints(session: so.Session, queries: Iterable[sa.Select]) -> dict[int, str]:
    """Per id (each query's first column), a digest of the other columns of every query's rows.

    Hashed as the rows stream in: a national portfolio's fingerprints never hold its rows at once.
    """
    hashes: dict[int, Any] = {}
    for number, query in enumerate(queries):
        for key, *values in session.connection().execute(query.execution_options(yield_per=10_000)):
            running = hashes.get(key)
            if running is None:
                running = hashes[key] = hashlib.sha1()
            running.update(f"{number}:{values!r};".encode("utf-8"))
    return {key: running.hexdigest() for key, running in hashes.items()}


#: The SQLite function behind row_hash (db.make_engine registers it on every SQLite connection).
SQLITE_ROW_HASH = "tracker_row_hash"
#: Bits of a row's hash: sums of a few thousand rows' hashes stay far inside a signed 64-bit integer.
ROW_HASH_BITS = 40


def sqlite_row_hash(text: str | None) -> int:
    """The hash of a row's text, as SQLite computes it (PostgreSQL: the same bits of md5)."""
    return int(hashlib.md5((text or "").encode("utf-8")).hexdigest()[:ROW_HASH_BITS // 4], 16)


class _RowHash(FunctionElement):
    """A row's columns as one integer hash, computed by the database: summed per programme, every
    change to any of them (a bulk UPDATE included) changes the fingerprint."""

    type = sa.BigInteger()
    inherit_cache = True
    name = SQLITE_ROW_HASH


@compiles(_RowHash)
def _row_hash_sqlite(element, compiler, **kw) -> str:  # noqa: ANN001
    return f"{SQLITE_ROW_HASH}({compiler.process(element.clauses, **kw)})"


@compiles(_RowHash, "postgresql")
def _row_hash_postgresql(element, compiler, **kw) -> str:  # noqa: ANN001
    bits = ROW_HASH_BITS
    return f"('x' || substr(md5({compiler.process(element.clauses, **kw)}), 1, {bits // 4}))::bit({bits})::bigint"


def row_hash(*columns) -> _RowHash:
    """An integer hash of these columns of a row (NULL hashed as empty), for sum() in a fingerprint query."""
    text = None
    for column in columns:
        part = sa.func.coalesce(sa.cast(column, sa.Text), "")
        text = part if text is None else text + "\x1f" + part
    return _RowHash(text)


@dataclass(frozen=True)
class Plan:
    """What a scan has to judge: everything (``changed`` None) or the programmes in ``changed``."""

    settings: str
    prints: dict[int, str]
    changed: frozenset[int] | None

    @property
    def is_full(self) -> bool:
        """Whether everything is judged."""
        return self.changed is None


def changed_ids(previous: Mapping[int, str], prints: Mapping[int, str]) -> frozenset[int] | None:
    """The ids whose fingerprint differs (new, changed or gone); None when so many changed that
    judging everything again is the quicker way."""
    changed = frozenset(pid for pid in previous.keys() | prints.keys() if previous.get(pid) != prints.get(pid))
    return None if len(changed) > MAX_INCREMENTAL else changed


def settings_row(settings: str) -> str:
    """What the scan's own row holds: the rules' version in force and a digest of the date and settings."""
    return f"rules v{RULES_VERSION}:{digest(RULES_VERSION, settings)}"


def plan(session: so.Session, scan: str, settings: str, prints: Mapping[int, str], full: bool = False) -> Plan:
    """Compare the fingerprints with the last scan's: judge everything, or only what changed."""
    previous = dict(session.execute(sa.select(ScanState.project_id, ScanState.fingerprint)
                                    .where(ScanState.scan == scan)).all())
    settings = settings_row(settings)
    if full or previous.pop(SETTINGS_ROW, None) != settings:
        return Plan(settings, dict(prints), None)
    return Plan(settings, dict(prints), changed_ids(previous, prints))


def save(session: so.Session, scan: str, done: Plan) -> None:
    """Remember what this scan judged (in the caller's transaction)."""
    if done.is_full:
        session.execute(sa.delete(ScanState).where(ScanState.scan == scan))
        rows: Iterable[tuple[int, str]] = [(SETTINGS_ROW, done.settings), *done.prints.items()]
    else:
        ids = list(done.changed)
        for start in range(0, len(ids), 500):
            session.execute(sa.delete(ScanState).where(ScanState.scan == scan,
                                                       ScanState.project_id.in_(ids[start:start + 500])))
        rows = [(pid, done.prints[pid]) for pid in ids if pid in done.prints]
    values = [{"scan": scan, "project_id": pid, "fingerprint": fp} for pid, fp in rows]
    if values:
        session.execute(sa.insert(ScanState), values)
