"""The tracker's clock: today is the day in the configured timezone (Asia/Taipei), whatever the host's zone.

Pages, the API, the CLI and the scheduler all ask here, so on a UTC host before 08:00 Taipei time they
judge the same day, and a date typed for today is never taken for a future one.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo


def today(config: Mapping) -> date:
    """Today's date in the configured timezone (TIMEZONE, Asia/Taipei by default)."""
    return datetime.now(ZoneInfo(config["TIMEZONE"])).date()
