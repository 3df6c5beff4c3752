"""The execution report in one query: joint and system-less projects, gaps in the months, one statement."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tracker import db
from tracker.domain.execution import Figures, forecast
from tracker.models import Project, project_systems
from tracker.services.execution import execution_report
from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id


@pytest.fixture
def ledger(seeded, session):
    """106 capital figures with a joint project, a project without a budget and months left out."""
    add_budget(session, YILAN, 500_000, 20_000, 30_000)            # 矯正, available 550,000
    add_month(session, YILAN, 5, 150_000, 100_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_month(session, YUNLIN, 5, 50_000, 50_000)                   # 矯正, month-end rows but no budget
    add_month(session, YUNLIN, 8, 100_000, 95_000, 5_000)
    add_budget(session, TAICHUNG, 1_000_000)                        # joint: 檢察 and 行政執行
    add_month(session, TAICHUNG, 4, 40_000, 40_000)                 # as of May: April stands
    add_month(session, TAICHUNG, 7, 100_000, 90_000)                # as of August: July stands
    add_budget(session, HSINCHU, 80_000)                            # 行政執行, a budget and nothing else
    session.commit()
    return seeded


def by_key(report):
    return {row.key: row for row in report.rows}


def other_project(session) -> str:
    """A project of the plan that the ledger leaves alone."""
    return session.scalar(sa.select(Project.name).where(Project.name.not_in([YILAN, YUNLIN, TAICHUNG, HSINCHU]))
                          .order_by(Project.id).limit(1))


def test_by_system_total_is_the_ministry_total(ledger, session):
    report = execution_report(session, 106, 8, "system")
    rows = by_key(report)
    assert rows["檢察"].figures.available == D(1_000_000)
    assert rows["行政執行"].figures.available == D(1_080_000)  # 臺中 in both systems
    assert sum(r.figures.available for r in report.rows) == D(2_630_000)
    assert report.total.figures.available == D(1_630_000)  # 臺中 once
    assert report.total.figures.allocated == D(500_000)
    ministry = execution_report(session, 106, 8, "ministry").rows[0]
    assert (report.total.figures, report.total.rates, report.total.forecast) == (
        ministry.figures, ministry.rates, ministry.forecast)


def test_by_system_total_follows_the_filters(ledger, session):
    report = execution_report(session, 106, 8, "system", system="prosecution")
    assert set(by_key(report)) == {"檢察", "行政執行"}  # 臺中 takes its other system along
    assert report.total.figures.available == D(1_000_000)
    assert report.total.figures == execution_report(session, 106, 8, "ministry", system="prosecution").total.figures


def test_a_project_in_no_system_counts_in_the_total_only(ledger, session):
    session.execute(sa.delete(project_systems).where(project_systems.c.project_id == project_id(session, YUNLIN)))
    session.commit()
    report = execution_report(session, 106, 8, "system")
    assert by_key(report)["矯正"].figures.allocated == D(300_000)  # 宜蘭 alone
    assert report.total.figures.allocated == D(500_000)  # 雲林 still in the ministry's figures


def test_the_latest_month_at_or_before_the_asked_one_stands(ledger, session):
    taichung = by_key(execution_report(session, 106, 8, "project"))[TAICHUNG]
    assert (taichung.figures.allocated, taichung.rates.executed) == (D(100_000), D(90_000))  # July
    # the forecast window starts in May, where April's figures stand
    expected = forecast(taichung.figures, Figures(allocated=D(40_000), paid=D(40_000)), 8, 5, D(90))
    assert taichung.forecast == expected
    prosecution = by_key(execution_report(session, 106, 8, "system"))["檢察"]  # 臺中 alone
    assert (prosecution.figures, prosecution.forecast) == (taichung.figures, taichung.forecast)
    assert by_key(execution_report(session, 106, 6, "project"))[TAICHUNG].figures.allocated == D(40_000)


def test_who_is_in_the_report(ledger, session):
    later = other_project(session)
    add_month(session, later, 10, 7_000, 7_000)  # nothing before October, and no budget
    session.commit()
    august = by_key(execution_report(session, 106, 8, "project"))
    assert set(august) == {YILAN, YUNLIN, TAICHUNG, HSINCHU}
    assert august[YUNLIN].figures.available == D(0) and august[YUNLIN].figures.allocated == D(100_000)
    assert august[HSINCHU].figures.allocated == D(0)
    assert later in by_key(execution_report(session, 106, 10, "project"))
    march = by_key(execution_report(session, 106, 3, "project"))
    assert set(march) == {YILAN, TAICHUNG, HSINCHU}  # budgets, though no month-end row yet


def test_no_figures_no_total(ledger, session):
    for by in ("system", "ministry", "project"):
        report = execution_report(session, 107, None, by)
        assert (report.rows, report.total) == ([], None)


def test_the_report_is_one_statement(ledger, app, session):
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.get_engine(app)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        execution_report(session, 106, 8, "system")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "sum(" in s.lower()]) == 1  # groups and total together
