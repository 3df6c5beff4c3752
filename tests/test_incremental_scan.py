"""Incremental scans: after a scan, the next one on the same date judges only what changed, with the same outcome."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from conftest import YILAN, YUNLIN, add_month, project_id
from tracker import db
from tracker.models import Alert, Milestone, MonthEnd, Project
from tracker.domain.slippage import Light
from tracker.services import audit
from tracker.services.lights import portfolio_lights
from tracker.services.execution_scan import scan_execution
from tracker.services.schedule_scan import scan_schedule
from tracker.services.scans import run_scans

AS_OF = date(2017, 10, 11)  # after the 10th: last month's reports are due too


def unresolved(session) -> dict[str, tuple]:
    """Every unresolved alert: key -> (id, message, updated_at)."""
    session.expire_all()
    return {a.open_key: (a.id, a.message, a.updated_at) for a in session.scalars(
        sa.select(Alert).where(Alert.status != "resolved"))}


def scan(session, day=AS_OF, full=False):
    result = scan_schedule(session, day, full=full)
    session.commit()
    return result


def test_second_scan_on_the_same_date_judges_nothing_and_changes_nothing(seeded, session):
    first = scan(session)
    assert first.judged is None and first.opened > 0  # the first scan judges everything
    before = unresolved(session)
    again = scan(session)
    assert (again.judged, again.opened, again.updated, again.resolved) == (0, 0, 0, 0)
    assert "incremental: 0 changed" in again.summary()
    assert unresolved(session) == before


def test_one_finished_milestone_is_judged_alone_and_resolves_its_alert(seeded, session):
    scan(session)
    before = unresolved(session)
    late = session.scalars(sa.select(Milestone).where(Milestone.planned_finish_on < AS_OF,
                                                      Milestone.status != "done").order_by(Milestone.id)).first()
    key = f"OVERDUE:{late.project_id}:{late.id}"
    assert key in before
    late.status, late.percent_complete = "done", D(100)
    late.actual_start_on, late.actual_finish_on = late.planned_start_on, late.planned_finish_on
    session.commit()

    result = scan(session)
    assert result.judged == 1 and result.resolved >= 1 and result.opened == 0
    after = unresolved(session)
    assert key not in after
    programme = session.get(Project, late.project_id)
    owner = programme.parent_id or programme.id
    others = {k: v for k, v in before.items() if k != key
              and session.get(Project, int(k.split(":")[1])).parent_id not in (owner,)
              and int(k.split(":")[1]) != owner}
    assert all(after[k] == v for k, v in others.items())  # other programmes' alerts untouched, to the timestamp


def test_incremental_outcome_equals_a_full_scan(seeded, session):
    scan(session)
    milestones = list(session.scalars(sa.select(Milestone).order_by(Milestone.id)))
    finished, slipped = milestones[0], milestones[-1]
    finished.status, finished.percent_complete = "done", D(100)
    finished.actual_start_on, finished.actual_finish_on = finished.planned_start_on, finished.planned_finish_on
    slipped.planned_start_on = date(2016, 1, 1)  # now long overdue
    slipped.planned_finish_on = date(2016, 6, 30)
    session.add(Milestone(project_id=project_id(session, YILAN), seq=99, name="新增的驗收里程碑",
                          planned_start_on=date(2017, 1, 1), planned_finish_on=date(2017, 3, 31),
                          baseline_start_on=date(2017, 1, 1), baseline_finish_on=date(2017, 3, 31)))
    session.commit()

    incremental = scan(session)
    assert incremental.judged is not None and 1 <= incremental.judged <= 3
    after_incremental = {k: v[1] for k, v in unresolved(session).items()}
    check = scan(session, full=True)  # judging everything again finds nothing to change
    assert (check.judged, check.opened, check.updated, check.resolved) == (None, 0, 0, 0)
    assert {k: v[1] for k, v in unresolved(session).items()} == after_incremental
    assert any("新增的驗收里程碑" in message for message in after_incremental.values())


def test_a_new_date_or_new_thresholds_judge_everything(seeded, session, app):
    scan(session)
    assert scan(session, AS_OF + timedelta(days=1)).judged is None
    assert scan(session, AS_OF + timedelta(days=1)).judged == 0
    with db.new_session(app) as s:
        results = run_scans(s, AS_OF + timedelta(days=1), {**app.config, "LAG_DAYS": 20}, audit.Who("test"))
        s.commit()
    assert results["schedule"].judged is None


def test_execution_rescan_judges_only_the_project_whose_figures_changed(lagging, session):
    first = scan_execution(session, date(2017, 8, 31))
    session.commit()
    assert first.judged is None and first.opened == 2
    assert scan_execution(session, date(2017, 8, 31)).judged == 0
    session.commit()

    row = session.scalars(sa.select(MonthEnd).where(MonthEnd.project_id == project_id(session, YILAN),
                                                    MonthEnd.month == 8)).one()
    row.paid = D(160_000)  # 63.33%: still low, the message changes
    add_month(session, YUNLIN, 7, 80_000, 80_000)  # on track before and after
    session.commit()
    result = scan_execution(session, date(2017, 8, 31))
    session.commit()
    assert result.judged == 2 and (result.opened, result.updated, result.resolved) == (0, 2, 0)
    low = session.scalars(sa.select(Alert).where(Alert.kind == "LOW_EXECUTION")).one()
    assert "63.33%" in low.message


def test_cli_scan_is_incremental_unless_full(seeded, runner):
    first = runner.invoke(["scan", "--as-of", "2017-10-11"])
    assert first.exit_code == 0, first.output
    assert "incremental" not in first.output.split("\n")[0]
    again = runner.invoke(["scan", "--as-of", "2017-10-11"])
    assert "schedule scan as of 2017-10-11: 0 opened, 0 updated, 0 resolved (incremental: 0 changed" in again.output
    full = runner.invoke(["scan", "--as-of", "2017-10-11", "--full"])
    assert full.exit_code == 0 and "incremental" not in full.output


def test_a_bulk_update_of_milestones_is_seen_by_the_lights_and_the_incremental_scan(seeded, session):
    day = date(2030, 12, 31)  # long after every planned finish: every open milestone is overdue (red)
    programme = session.scalars(sa.select(Project).join(Milestone, Milestone.project_id == Project.id)
                                .where(Project.parent_id.is_(None)).order_by(Project.seq).limit(1)).one()
    ids = list(session.scalars(sa.select(Project.id).where(
        sa.or_(Project.id == programme.id, Project.parent_id == programme.id))))
    assert portfolio_lights(session, day).programmes[programme.id] == Light.RED
    scan(session, day)
    overdue = sa.select(Alert).where(Alert.kind == "OVERDUE", Alert.status != "resolved", Alert.project_id.in_(ids))
    assert session.scalars(overdue).first() is not None
    versions = dict(session.execute(sa.select(Milestone.id, Milestone.version).where(Milestone.project_id.in_(ids))).all())

    session.execute(sa.update(Milestone).where(Milestone.project_id.in_(ids)).values(  # no version is raised
        status="done", percent_complete=100, actual_start_on=Milestone.planned_start_on,
        actual_finish_on=Milestone.planned_finish_on).execution_options(synchronize_session=False))
    session.commit()
    assert dict(session.execute(sa.select(Milestone.id, Milestone.version)
                                .where(Milestone.project_id.in_(ids))).all()) == versions

    assert portfolio_lights(session, day).programmes[programme.id] == Light.GREEN  # not the cached red
    result = scan(session, day)
    assert result.judged == 1 and result.resolved >= 1  # incremental, and it saw the change
    assert session.scalars(overdue).first() is None
