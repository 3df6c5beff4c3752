"""Every scan the tracker runs, in one place: the CLI, the scheduler and tests call this."""
from __future__ import annotations

from datetime import date

import sqlalchemy.orm as so

from tracker.services import audit
from tracker.services.alerts import ScanResult, scan_execution
from tracker.services.execution import thresholds_from


def run_scans(session: so.Session, as_of: date, config, who: audit.Who = audit.Who("scan")) -> dict[str, ScanResult]:
    """Run every scan as of a date (the caller commits)."""
    return {"execution": scan_execution(session, as_of, thresholds_from(config), who)}
