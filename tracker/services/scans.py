"""Every scan the tracker runs, in one place: the CLI, the scheduler and tests call these."""
from __future__ import annotations

from datetime import date

import sqlalchemy.orm as so

from tracker.services import audit
from tracker.services.alerts import ScanResult, scan_execution
from tracker.services.execution import thresholds_from
from tracker.services.slippage import scan_schedule, slip_thresholds_from


def run_scan(name: str, session: so.Session, as_of: date, config, who: audit.Who = audit.Who("scan")) -> ScanResult:
    """Run one scan ("schedule" or "execution") as of a date (the caller commits)."""
    if name == "schedule":
        return scan_schedule(session, as_of, slip_thresholds_from(config), who)
    if name == "execution":
        return scan_execution(session, as_of, thresholds_from(config), who)
    raise ValueError(f"unknown scan {name!r}")


SCAN_NAMES = ("schedule", "execution")


def run_scans(session: so.Session, as_of: date, config, who: audit.Who = audit.Who("scan")) -> dict[str, ScanResult]:
    """Run every scan as of a date (the caller commits)."""
    return {name: run_scan(name, session, as_of, config, who) for name in SCAN_NAMES}
