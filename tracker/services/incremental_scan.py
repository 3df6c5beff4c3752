"""The incremental scan, written once: judge everything or only what changed since the last scan,
reconcile the alerts with the findings, remember what was judged and audit the run.

services.execution_scan and services.schedule_scan each bring what is theirs: the alert kinds, the
settings, the fingerprints of their inputs (services.scanstate) and the function that judges.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.services import audit, scanstate
from tracker.services.alerts import Finding, ScanResult, reconcile


@dataclass(frozen=True)
class Judgement:
    """What judging found, and whether it judged synthetic (demo) figures."""

    findings: list[Finding] = field(default_factory=list)
    is_synthetic: bool = False


def run_incremental_scan(session: so.Session, scan: str, kinds: Iterable[str], as_of: date, settings: str,
                         prints: Mapping[int, str], judge: Callable[[list[int] | None], Judgement],
                         who: audit.Who, full: bool = False,
                         scope: Callable[[list[int]], sa.Select | list[int]] | None = None) -> ScanResult:
    """Run one scan (the caller commits): judge(None) judges everything, judge(ids) only those ids.

    Everything is judged after a scan on another date, with other settings or other rules, or when
    ``full``; otherwise only the ids whose fingerprint changed, and only their alerts are reconciled
    (``scope`` turns the ids into the projects whose alerts those are; by default the ids themselves).
    """
    kinds = tuple(kinds)
    todo = scanstate.plan(session, scan, settings, prints, full)
    if todo.is_full:
        judged = judge(None)
        result = reconcile(session, kinds, judged.findings, as_of, judged.is_synthetic)
    elif todo.changed:
        ids = sorted(todo.changed)
        judged = judge(ids)
        result = reconcile(session, kinds, judged.findings, as_of, judged.is_synthetic,
                           project_ids=scope(ids) if scope is not None else ids)
        result.judged = len(ids)
    else:
        result = ScanResult(judged=0)
    scanstate.save(session, scan, todo)
    audit.record(session, who, f"scan.{scan}", "alerts", None, {
        "as_of": as_of, "opened": result.opened, "updated": result.updated, "resolved": result.resolved,
        "judged": "all" if result.judged is None else result.judged})
    return result
