"""Completeness of a month (填報情形): who reported progress, in which state, who has figures, and who answers for
the rest, through the service, the page, the API, the execution table and its alerts."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import jsonschema
import pytest
import sqlalchemy as sa

from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id, token_for
from tracker import db
from tracker.models import ProgressReport, Project
from tracker.services import audit, reporting_date
from tracker.services.completeness import CompletenessQueryError, month_completeness
from tracker.services.execution import execution_report
from tracker.services.execution_scan import execution_findings
from tracker.web.api.schema import openapi_document

DOCUMENT = openapi_document()
#: The seed's programmes (top-level projects) running in 106.
PROGRAMMES_106 = 57


def report(session, name, month, *states, year_roc=106):
    """Revisions 1, 2, … of a programme's month, in these states (the last is the month's state)."""
    for revision, state in enumerate(states, start=1):
        session.add(ProgressReport(project_id=project_id(session, name), year_roc=year_roc, month=month,
                                   revision=revision, actual_percent=D(10 * revision), state=state))


@pytest.fixture
def october(seeded, session, make_user):
    """October 106: 宜蘭 approved (after a return) with figures; 雲林 returned, its figures stop in September;
    臺中 approved then corrected (submitted again), no capital budget; 新竹 unreported with a budget and no figures."""
    make_user("corrections_pm", "project_manager", "矯正")
    make_user("corrections_pm2", "project_manager", "矯正")
    make_user("corrections_reviewer", "reviewer", "矯正")  # a reviewer answers for nobody's report
    make_user("execution_pm", "project_manager", "行政執行")
    gone = make_user("departed_pm", "project_manager", "行政執行")
    with db.new_session(seeded) as s:
        s.get(type(gone), gone.id).is_active = False
        s.commit()
    report(session, YILAN, 10, "returned", "approved")
    report(session, YUNLIN, 10, "submitted", "returned")
    report(session, TAICHUNG, 10, "approved", "submitted")
    report(session, HSINCHU, 9, "approved")  # September only: October is unreported
    add_budget(session, YILAN, 500_000)
    add_month(session, YILAN, 9, 100_000, 50_000)
    add_month(session, YILAN, 10, 200_000, 100_000)
    add_budget(session, YUNLIN, 200_000)
    add_month(session, YUNLIN, 9, 100_000, 58_500)
    add_budget(session, HSINCHU, 80_000)
    add_month(session, YILAN, 10, 9, 9, kind="current")  # 經常門 figures never count as 資本門 月報
    session.commit()
    return seeded


def by_id(items):
    return {item.id: item for item in items}


def test_counts_each_state_and_the_figures(october, session):
    c = month_completeness(session, 106, 10)
    assert (c.progress_due, c.progress_reported, c.progress_approved) == (PROGRAMMES_106, 3, 1)
    assert (c.figures_due, c.figures_reported) == (3, 1)
    assert c.line == f"10 月進度已報 3／{PROGRAMMES_106}，已核定 1；資本門月報已報 1／3"
    ids = {name: project_id(session, name) for name in (YILAN, YUNLIN, TAICHUNG, HSINCHU)}
    assert c.states[ids[YILAN]] == "approved" and c.states[ids[YUNLIN]] == "returned"
    assert c.states[ids[TAICHUNG]] == "submitted"  # a correction after approval needs approval again
    assert c.states[ids[HSINCHU]] == "unreported"  # September's report is not October's
    assert len(c.states) == PROGRAMMES_106


def test_the_missing_list_names_the_state_the_figures_and_the_managers(october, session):
    c = month_completeness(session, 106, 10)
    missing = by_id(c.missing)
    ids = {name: project_id(session, name) for name in (YILAN, YUNLIN, TAICHUNG, HSINCHU)}
    assert ids[YILAN] not in missing and ids[YILAN] not in by_id(c.unapproved)  # approved, with figures: done
    yunlin = missing[ids[YUNLIN]]  # reported (returned) but no October figures
    assert (yunlin.progress_state, yunlin.progress_label, yunlin.has_figures) == ("returned", "退回", False)
    assert yunlin.systems == ("矯正",) and yunlin.managers == ("corrections_pm", "corrections_pm2")
    hsinchu = missing[ids[HSINCHU]]
    assert (hsinchu.progress_state, hsinchu.has_figures) == ("unreported", False)
    assert hsinchu.managers == ("execution_pm",)  # the disabled account answers for nothing
    # 臺中 reported and has no capital budget: not missing, but waiting for approval
    assert ids[TAICHUNG] not in missing
    taichung = by_id(c.unapproved)[ids[TAICHUNG]]
    assert (taichung.progress_state, taichung.has_figures) == ("submitted", None)
    assert "行政執行" in taichung.systems and "execution_pm" in taichung.managers
    # every other programme has not reported, and none has a budget
    assert len(c.missing) == PROGRAMMES_106 - 2
    others = [p for p in c.missing if p.id not in ids.values()]
    assert all(p.progress_state == "unreported" and p.has_figures is None for p in others)
    seqs = [p.seq for p in c.missing]
    assert seqs == sorted(seqs)  # in plan order


def test_a_system_narrows_the_counts(october, session):
    c = month_completeness(session, 106, 10, "矯正")
    programmes = session.scalar(sa.select(sa.func.count()).select_from(Project).where(
        Project.parent_id.is_(None), Project.systems.any(name="矯正")))
    assert (c.progress_due, c.progress_reported, c.progress_approved) == (programmes, 2, 1)
    assert (c.figures_due, c.figures_reported) == (2, 1)
    with pytest.raises(CompletenessQueryError) as refused:
        month_completeness(session, 106, 10, "沒有這個系統")
    assert refused.value.field == "system"


def test_programmes_outside_their_years_are_not_due(october, session):
    c = month_completeness(session, 105, 10)
    assert c.progress_due < PROGRAMMES_106 and c.figures_due == 0
    assert all(p.has_figures is None for p in c.missing)


def test_demo_figures_count_only_when_the_year_has_no_imported_ones(seeded, session):
    add_budget(session, YILAN, 100, synthetic=True)
    add_month(session, YILAN, 10, 50, 50, synthetic=True)
    add_budget(session, YUNLIN, 100, synthetic=True)
    session.commit()
    demo = month_completeness(session, 106, 10)
    assert (demo.figures_due, demo.figures_reported, demo.is_synthetic) == (2, 1, True)
    add_budget(session, HSINCHU, 100)  # imported figures arrive: the demo's no longer count
    session.commit()
    imported = month_completeness(session, 106, 10)
    assert (imported.figures_due, imported.figures_reported, imported.is_synthetic) == (1, 0, False)


def test_a_fixed_handful_of_queries_however_many_programmes(october, session):
    statements = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        c = month_completeness(session, 106, 10)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len(c.missing) > 50 and len(statements) <= 8


# --- the page -----------------------------------------------------------------------------------

def test_the_page_lists_who_has_not_reported_with_managers(october, session, auth):
    auth.login("corrections_reviewer")
    html = auth.client.get("/completeness?month=106-10").get_data(as_text=True)
    assert f"10 月進度已報 3／{PROGRAMMES_106}，已核定 1；資本門月報已報 1／3" in html
    hsinchu = html[html.index(f'id="programme-{project_id(session, HSINCHU)}"'):]
    hsinchu = hsinchu[:hsinchu.index("</tr>")]
    assert HSINCHU in hsinchu and "未填報" in hsinchu and "未報" in hsinchu and "execution_pm" in hsinchu
    assert f'href="/projects/{project_id(session, HSINCHU)}"' in hsinchu
    yunlin = html[html.index(f'id="programme-{project_id(session, YUNLIN)}"'):]
    assert "退回" in yunlin[:yunlin.index("</tr>")] and "corrections_pm" in yunlin[:yunlin.index("</tr>")]
    taichung = html[html.index(f'id="programme-{project_id(session, TAICHUNG)}"'):]
    assert "已送出" in taichung[:taichung.index("</tr>")]  # waiting for approval
    assert f'id="programme-{project_id(session, YILAN)}"' not in html  # approved with figures: nothing to chase
    assert 'href="/completeness"' in html and "填報情形" in html  # in the nav


def test_the_page_filters_by_system_and_defaults_to_last_month(october, session, auth):
    auth.login("corrections_reviewer")
    html = auth.client.get("/completeness?month=2017-10&system=矯正").get_data(as_text=True)
    assert "已核定 1；資本門月報已報 1／2" in html and HSINCHU not in html and YUNLIN in html
    reporting_date.set_reporting_date(session, date(2017, 11, 5), audit.CLI)
    session.commit()
    html = auth.client.get("/completeness").get_data(as_text=True)
    assert "10 月進度已報 3／" in html and 'value="106-10"' in html


def test_a_bad_month_on_the_page_is_named(october, auth):
    auth.login("corrections_reviewer")
    response = auth.client.get("/completeness?month=106-13")
    assert response.status_code == 400 and "month" in response.get_data(as_text=True)
    response = auth.client.get("/completeness?month=106-10&system=nowhere")
    assert response.status_code == 400 and "沒有名為「nowhere」的系統" in response.get_data(as_text=True)


def test_the_alerts_page_shows_last_months_line(october, session, auth):
    reporting_date.set_reporting_date(session, date(2017, 11, 5), audit.CLI)
    session.commit()
    auth.login("corrections_reviewer")
    html = auth.client.get("/alerts").get_data(as_text=True)
    assert f"10 月進度已報 3／{PROGRAMMES_106}，已核定 1；資本門月報已報 1／3" in html
    assert 'href="/completeness?month=106-10"' in html


# --- the API ------------------------------------------------------------------------------------

def validate(operation_id: str, status: int, body) -> None:
    """The answer is in the schema the OpenAPI document gives for that operation and status."""
    for item in DOCUMENT["paths"].values():
        for op in item.values():
            if op["operationId"] == operation_id:
                schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
                jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]}).validate(body)
                return
    raise KeyError(operation_id)


def test_the_api_answers_counts_and_missing(october, session, client):
    headers = {"Authorization": f"Bearer {token_for(october, 'corrections_reviewer')}"}
    for month in ("106-10", "2017-10"):
        response = client.get(f"/api/v1/completeness?month={month}", headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        validate("getCompleteness", 200, body)
        assert (body["year_roc"], body["month"]) == (106, 10)
        assert body["progress"] == {"due": PROGRAMMES_106, "reported": 3, "approved": 1}
        assert body["figures"] == {"due": 3, "reported": 1}
        assert body["line"] == f"10 月進度已報 3／{PROGRAMMES_106}，已核定 1；資本門月報已報 1／3"
        missing = {p["id"]: p for p in body["missing"]}
        yunlin = missing[project_id(session, YUNLIN)]
        assert (yunlin["name"], yunlin["progress_state"], yunlin["has_figures"]) == (YUNLIN, "returned", False)
        assert yunlin["managers"] == ["corrections_pm", "corrections_pm2"]
        assert project_id(session, YILAN) not in missing


def test_the_api_refuses_a_bad_month_by_name_and_defaults_to_last_month(october, session, client):
    headers = {"Authorization": f"Bearer {token_for(october, 'corrections_reviewer')}"}
    for bad in ("106-13", "soon", "2017-1x"):
        response = client.get(f"/api/v1/completeness?month={bad}", headers=headers)
        assert response.status_code == 400, bad
        body = response.get_json()
        validate("getCompleteness", 400, body)
        assert list(body["fields"]) == ["month"]
    reporting_date.set_reporting_date(session, date(2017, 11, 5), audit.CLI)
    session.commit()
    body = client.get("/api/v1/completeness", headers=headers).get_json()
    assert (body["year_roc"], body["month"], body["progress"]["reported"]) == (106, 10, 3)
    assert client.get("/api/v1/completeness").status_code == 401


# --- the execution table and its alerts say the month of their figures --------------------------

def test_the_execution_rows_carry_the_month_of_their_figures(october, session):
    table = execution_report(session, 106, 10, "project")
    rows = {row.key: row for row in table.rows}
    assert (rows[YILAN].figures_month, rows[YILAN].is_reported) == (10, True)
    assert (rows[YUNLIN].figures_month, rows[YUNLIN].is_reported) == (9, False)
    assert rows[YUNLIN].figures.paid == D(58_500)  # September's figures, said to be September's
    assert (rows[HSINCHU].figures_month, rows[HSINCHU].is_reported) == (None, False)
    total = table.total
    assert (total.projects, total.reported, total.carried) == (3, 1, 1)
    assert total.figures.paid == D(158_500)  # the total sums what each row shows, carried figures included
    ministry = execution_report(session, 106, 10, "system").total
    assert (ministry.projects, ministry.reported, ministry.carried) == (3, 1, 1)


def test_the_execution_page_marks_unreported_rows_and_the_carried_month(october, auth):
    auth.login("corrections_reviewer")
    html = auth.client.get("/execution?as_of=106-10").get_data(as_text=True)
    yunlin = html[html.index(YUNLIN):]
    yunlin = yunlin[:yunlin.index("</tr>")]
    assert "未報" in yunlin and "9 月" in yunlin
    hsinchu = html[html.index(HSINCHU):]
    hsinchu = hsinchu[:hsinchu.index("</tr>")]
    assert "未報" in hsinchu and "月）" not in hsinchu
    yilan = html[html.index(YILAN):]
    assert "未報" not in yilan[:yilan.index("</tr>")]
    assert "1／3 個計畫已報 10 月" in html and "1 個沿用較早月份數字" in html
    assert f"10 月進度已報 3／{PROGRAMMES_106}，已核定 1；資本門月報已報 1／3" in html
    by_system = auth.client.get("/execution?as_of=106-10&by=system").get_data(as_text=True)
    assert "合計（法務部）" in by_system and "1／2 個計畫已報 10 月" in by_system  # 矯正: 宜蘭 yes, 雲林 no


def test_the_execution_api_gives_each_rows_figures_month(october, client):
    headers = {"Authorization": f"Bearer {token_for(october, 'corrections_reviewer')}"}
    response = client.get("/api/v1/execution?as_of=106-10", headers=headers)
    body = response.get_json()
    validate("getExecution", 200, body)
    rows = {row["key"]: row for row in body["rows"]}
    assert rows[YILAN]["figures_month"] == 10 and rows[YUNLIN]["figures_month"] == 9
    assert rows[HSINCHU]["figures_month"] is None
    assert (body["total"]["projects"], body["total"]["reported"], body["total"]["carried"]) == (3, 1, 1)


def test_an_execution_alert_names_the_month_of_the_figures_it_judged(october, session):
    findings, _synthetic = execution_findings(session, date(2017, 10, 31), execution_thresholds())
    yunlin = [f for f in findings if f.project_id == project_id(session, YUNLIN)]
    assert yunlin, "雲林's September figures are judged"
    for finding in yunlin:
        assert finding.message.startswith("106年9月底（10 月未報）"), finding.message
        assert "106年10月底" not in finding.message
        assert finding.details["figures_month"] == 9 and finding.details["month"] == 10
    yilan = [f for f in findings if f.project_id == project_id(session, YILAN)]
    assert all(f.message.startswith("106年10月底") and "未報" not in f.message for f in yilan)


def execution_thresholds():
    from tracker.domain.execution import ExecutionThresholds

    return ExecutionThresholds()


def test_the_pages_state_words_are_the_domains(app):
    from tracker.domain.labels import REPORT_STATE_LABELS
    from tracker.web.completeness import state_labels

    with app.test_request_context("/"):
        assert state_labels() == REPORT_STATE_LABELS
