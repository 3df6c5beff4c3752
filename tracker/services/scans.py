"""Every scan the tracker runs, in one place: the CLI, the scheduler and tests call these."""
from __future__ import annotations

from datetime import date

import sqlalchemy.orm as so

from tracker.services import audit
from tracker.services.alerts import ScanResult
from tracker.services.execution import thresholds_from
from tracker.services.execution_scan import scan_execution
from tracker.services.schedule_facts import slip_thresholds_from
from tracker.services.schedule_scan import scan_schedule
from tracker.domain.roc import roc_month_end


def run_scan(name: str, session: so.Session, as_of: date, config, who: audit.Who = audit.Who("scan"),
             full: bool = False) -> ScanResult:
    """Run one scan ("schedule" or "execution") as of a date (the caller commits).

    Both are incremental unless ``full``: see scan_schedule and scan_execution.
    """
    if name == "schedule":
        return scan_schedule(session, as_of, slip_thresholds_from(config), who, full)
    if name == "execution":
        return scan_execution(session, as_of, thresholds_from(config), who, full)
    raise ValueError(f"unknown scan {name!r}")


SCAN_NAMES = ("schedule", "execution")


def run_scans(session: so.Session, as_of: date, config, who: audit.Who = audit.Who("scan"),
              full: bool = False) -> dict[str, ScanResult]:
    """Run every scan as of a date (the caller commits); ``full`` judges everything again."""
    return {name: run_scan(name, session, as_of, config, who, full) for name in SCAN_NAMES}


def rescan_after_import(session: so.Session, result, config, who: audit.Who) -> ScanResult | None:
    """After month-end figures arrive, judge them at once (as of that month's end) so alerts are current."""
    if getattr(result, "latest_month", None) is None:
        return None
    year_roc, month = result.latest_month
    return scan_execution(session, roc_month_end(year_roc, month), thresholds_from(config), who)
