"""The site-wide reporting date (評核基準日): the as-of of every page, chart, API answer, scan and report
unless a request names another. An admin sets it (page or `tracker reporting-date`); unset, it is today
in Asia/Taipei (tracker.clock)."""
from __future__ import annotations

from datetime import date

import sqlalchemy.orm as so

from tracker import clock
from tracker.domain.access import Action
from tracker.domain.roc import ROC_YEAR_MAX, ROC_YEAR_MIN, from_roc_year
from tracker.models import SiteSetting
from tracker.services import audit
from tracker.services.accounts import check_may

KEY = "reporting_date"
EARLIEST, LATEST = date(from_roc_year(ROC_YEAR_MIN), 1, 1), date(from_roc_year(ROC_YEAR_MAX), 12, 31)


class ReportingDateRefused(ValueError):
    """A date out of the tracker's range."""


def stored(session: so.Session) -> date | None:
    """The reporting date an admin set, or None (then it is today)."""
    row = session.get(SiteSetting, KEY)
    return date.fromisoformat(row.value) if row is not None else None


def current(session: so.Session, config) -> date:
    """The reporting date in force: the one set, else today in the configured timezone."""
    return stored(session) or clock.today(config)


def set_reporting_date(session: so.Session, value: date | None, who: audit.Who) -> date | None:
    """Set the reporting date (None: follow today again); admins only (the CLI at the server may); audited."""
    check_may(session, who, Action.MANAGE_SETTINGS)
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ReportingDateRefused(f"評核基準日須介於 {EARLIEST.isoformat()} 與 {LATEST.isoformat()} 之間")
    row = session.get(SiteSetting, KEY)
    old = date.fromisoformat(row.value) if row is not None else None
    if old == value:
        return value
    if value is None:
        session.delete(row)
    elif row is None:
        session.add(SiteSetting(key=KEY, value=value.isoformat(), updated_by=who.name))
    else:
        row.value, row.updated_by = value.isoformat(), who.name
    session.flush()
    audit.record(session, who, "settings.reporting_date", "settings", None, {"reporting_date": [old, value]})
    return value
