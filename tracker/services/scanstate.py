"""What each scan last judged, so the next scan on the same date judges only what changed since.

A scan stores one row with its date and settings (project 0) and one fingerprint per programme (or
project) of everything its rules read. The next scan computes the fingerprints again, in SQL
aggregates that cost a fraction of judging, and re-judges only those that differ. A new date, new
settings (thresholds) or new rules (the code that judges) change every judgement, so they mean a
full scan.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import ScanState

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


def _rules_digest() -> str:
    """A fingerprint of the code that judges: new rules (an upgrade, a fix) mean a full scan."""
    package = Path(__file__).resolve().parent.parent
    sources = ("domain/slippage.py", "domain/execution.py", "domain/progress.py", "services/slippage.py",
               "services/alerts.py", "services/execution.py")
    return hashlib.sha1(b"".join((package / name).read_bytes() for name in sources)).hexdigest()


#: The rules in force in this process.
RULES = _rules_digest()


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


def plan(session: so.Session, scan: str, settings: str, prints: Mapping[int, str], full: bool = False) -> Plan:
    """Compare the fingerprints with the last scan's: judge everything, or only what changed."""
    previous = dict(session.execute(sa.select(ScanState.project_id, ScanState.fingerprint)
                                    .where(ScanState.scan == scan)).all())
    settings = digest(RULES, settings)
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
