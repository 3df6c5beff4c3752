"""Today is the day in the configured timezone (Asia/Taipei), not the host's: pages, the API and jobs agree."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tracker import clock
from tracker.models import Milestone
from tracker.services import accounts, audit, jobs


def _zone_a_day_ahead_of_utc() -> str | None:
    """A zone whose date is tomorrow by UTC right now (UTC+14 from 10:00 UTC on), else None."""
    zone = "Pacific/Kiritimati"
    now = datetime.now(timezone.utc)
    return zone if now.astimezone(ZoneInfo(zone)).date() > now.date() else None


def test_today_is_the_configured_zones_day():
    for zone in ("Asia/Taipei", "Pacific/Kiritimati", "Etc/GMT+12"):
        assert clock.today({"TIMEZONE": zone}) == datetime.now(ZoneInfo(zone)).date()
    # Scans and jobs ask the same clock.
    assert jobs.today_in({"TIMEZONE": "Etc/GMT+12"}) == clock.today({"TIMEZONE": "Etc/GMT+12"})


def test_the_api_takes_the_zones_today_as_today_not_as_a_future_date(app, seeded, make_user, client, session):
    zone = _zone_a_day_ahead_of_utc()
    if zone is None:  # before 10:00 UTC no zone is a day ahead: judge a zone a day behind instead
        zone = "Etc/GMT+12"
    app.config["TIMEZONE"] = zone
    make_user("boss", "admin")
    token, _row = accounts.issue_token(session, "boss", audit.CLI, 90)
    session.commit()
    milestone = session.scalar(sa.select(Milestone).where(Milestone.status == "not_started")
                               .order_by(Milestone.id).limit(1))
    headers = {"Authorization": f"Bearer {token}"}
    local_today = clock.today(app.config)
    answer = client.patch(f"/api/v1/milestones/{milestone.id}", headers=headers,
                          json={"actual_start": local_today.isoformat(), "status": "in_progress",
                                "version": milestone.version})
    assert answer.status_code == 200, answer.get_json()
    tomorrow = (local_today + timedelta(days=1)).isoformat()
    refused = client.patch(f"/api/v1/milestones/{milestone.id}", headers=headers,
                           json={"actual_start": tomorrow, "version": answer.get_json()["version"]})
    assert refused.status_code == 400 and "actual_start" in refused.get_json()["fields"]
