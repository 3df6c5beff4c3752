"""Earned value on the real database: the service, the API (in its documented schema) and the project page.

The numbers a person computes by hand (千元), for 宜蘭監獄 on 106/9/30:
BAC = 可支用預算數 800 + 100 + 100 = 1,000; September's latest revision says planned 50%, actual 40%;
AC = 執行數 at September's end = 380 + 40 + 10 = 430.
PV = 500, EV = 400, SV = −100, CV = −30, SPI = 0.8, CPI = 400 ÷ 430 = 0.930…,
EAC = 1,000 ÷ (400 ÷ 430) = 1,075, ETC = 645, VAC = −75, TCPI = 600 ÷ 570 = 1.052….
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import jsonschema
import pytest
import sqlalchemy as sa

from conftest import HSINCHU, YILAN, YUNLIN, add_budget, add_month, project_id, token_for
from tracker.domain.earned_value import EarnedValue, earned_value
from tracker.models import Budget, MonthEnd, ProgressReport, Project
from tracker.services import reporting_date
from tracker.services.audit import CLI
from tracker.services.earned_value import portfolio_earned_value, programme_earned_value
from tracker.services.report import earned_value_line
from tracker.services.schedule_facts import planned_percent_at
from tracker.web.api.schema import openapi_document

SEPTEMBER = date(2017, 9, 30)
MEDICAL = "提昇法醫鑑識量能計畫"  # a programme with nine sub-plans


def report(session, name, month, planned, actual, revision=1):
    """A progress report of 106 for a programme."""
    session.add(ProgressReport(project_id=project_id(session, name), year_roc=106, month=month, revision=revision,
                               planned_percent=None if planned is None else D(planned), actual_percent=D(actual),
                               milestones={}))


@pytest.fixture
def figures(seeded, session):
    """宜蘭 with a budget, two months of figures and reports (a corrected September, an October after as_of);
    雲林 with a budget only; 新竹 with a report only."""
    add_budget(session, YILAN, 800, 100, 100)
    add_budget(session, YILAN, 50, kind="current")  # 經常門 never enters earned value
    add_month(session, YILAN, 8, 600, 300, 50)
    add_month(session, YILAN, 9, 700, 380, 40, 10)
    add_month(session, YILAN, 10, 800, 700)
    add_month(session, YILAN, 9, 700, 999, kind="current")
    report(session, YILAN, 8, 40, 25)
    report(session, YILAN, 9, 50, 30)
    report(session, YILAN, 9, 50, 40, revision=2)  # the latest revision counts
    report(session, YILAN, 10, 60, 55)
    add_budget(session, YUNLIN, 2_000)
    report(session, HSINCHU, 9, 20, 10)
    session.commit()
    return {name: project_id(session, name) for name in (YILAN, YUNLIN, HSINCHU)}


def test_a_programme_gives_the_numbers_a_person_computes(figures, session):
    yilan = figures[YILAN]
    ev = programme_earned_value(session, [yilan], 106, SEPTEMBER)[yilan]
    assert (ev.bac, ev.pv, ev.ev, ev.ac) == (D(1_000), D(500), D(400), D(430))
    assert (ev.sv, ev.cv) == (D(-100), D(-30))
    assert ev.spi == D("0.8") and ev.cpi == D(400) / D(430)
    assert (ev.eac, ev.etc, ev.vac) == (D(1_075), D(645), D(-75))
    assert ev.tcpi == D(600) / D(570)


def test_missing_inputs_give_none(figures, session):
    found = programme_earned_value(session, list(figures.values()), 106, SEPTEMBER)
    assert found[figures[YUNLIN]] == EarnedValue(bac=D(2_000))  # a budget, no report, no figures
    hsinchu = found[figures[HSINCHU]]
    assert hsinchu.bac is None and hsinchu.ac is None and hsinchu.pv is None and hsinchu.ev is None
    assert hsinchu == EarnedValue()
    # before the year: its budget only; the year before has nothing
    assert programme_earned_value(session, [figures[YILAN]], 106, date(2016, 12, 31))[figures[YILAN]] == \
        EarnedValue(bac=D(1_000))
    assert programme_earned_value(session, [figures[YILAN]], 105, SEPTEMBER)[figures[YILAN]] == EarnedValue()
    assert programme_earned_value(session, [], 106, SEPTEMBER) == {}


def test_the_month_of_as_of_decides_what_counts(figures, session):
    yilan = figures[YILAN]
    # mid-October: October's report (60%, 55%) and October's figures (700 + 0 + 0)
    october = programme_earned_value(session, [yilan], 106, date(2017, 10, 15))[yilan]
    assert (october.pv, october.ev, october.ac) == (D(600), D(550), D(700))
    # after the year: December's, i.e. the latest there are
    after = programme_earned_value(session, [yilan], 106, date(2018, 3, 1))[yilan]
    assert after == october
    # a report of an earlier year is not this year's progress
    session.add(ProgressReport(project_id=figures[YUNLIN], year_roc=105, month=12, planned_percent=D(10),
                               actual_percent=D(10), milestones={}))
    session.commit()
    assert programme_earned_value(session, [figures[YUNLIN]], 106, SEPTEMBER)[figures[YUNLIN]].ev is None


def test_a_report_without_a_planned_percent_takes_the_plans(figures, session):
    yunlin = figures[YUNLIN]
    report(session, YUNLIN, 9, None, 30)
    add_month(session, YUNLIN, 9, 900, 600)
    session.commit()
    planned = planned_percent_at(session, yunlin, 106, 9)
    ev = programme_earned_value(session, [yunlin], 106, SEPTEMBER)[yunlin]
    assert ev == earned_value(D(2_000), planned, D(30), D(600))
    assert ev.ev == D(600) and ev.cpi == 1


def test_sub_plans_budgets_and_figures_count_in_their_programme(seeded, session):
    medical = project_id(session, MEDICAL)
    subs = list(session.scalars(sa.select(Project.id).where(Project.parent_id == medical).order_by(Project.id)))
    session.add(Budget(project_id=medical, year_roc=106, kind="capital", original=D(100)))
    session.add(Budget(project_id=subs[0], year_roc=106, kind="capital", original=D(300)))
    session.add(MonthEnd(project_id=subs[0], year_roc=106, month=7, kind="capital", allocated=D(100), paid=D(90)))
    session.add(MonthEnd(project_id=subs[1], year_roc=106, month=9, kind="capital", allocated=D(100), paid=D(10)))
    report(session, MEDICAL, 9, 30, 25)
    session.commit()
    found = programme_earned_value(session, [medical, subs[0]], 106, SEPTEMBER)
    assert set(found) == {medical}  # a sub-plan has no earned value of its own
    ev = found[medical]
    # BAC 100 + 300; AC: each project's latest figures by September, 90 (July) + 10
    assert (ev.bac, ev.pv, ev.ev, ev.ac) == (D(400), D(120), D(100), D(100))


def test_demo_figures_are_never_mixed_with_imported_ones(figures, session):
    add_budget(session, YILAN, 5_000, synthetic=True)
    add_month(session, YILAN, 9, 10, 4_000, synthetic=True)
    session.commit()
    ev = programme_earned_value(session, [figures[YILAN]], 106, SEPTEMBER)[figures[YILAN]]
    assert (ev.bac, ev.ac) == (D(1_000), D(430))


def test_the_portfolio_adds_amounts_and_divides_at_the_end(figures, session):
    add_budget(session, HSINCHU, 3_000)
    add_month(session, HSINCHU, 9, 500, 200)
    session.commit()
    total = portfolio_earned_value(session, 106, SEPTEMBER)
    # 宜蘭 (1,000, 500, 400, 430) + 新竹 (3,000, 600, 300, 200); 雲林 has no report and is left out
    assert (total.bac, total.pv, total.ev, total.ac) == (D(4_000), D(1_100), D(700), D(630))
    assert total.spi == D(700) / D(1_100) and total.cpi == D(700) / D(630)
    assert portfolio_earned_value(session, 106, SEPTEMBER, [figures[YILAN]]).bac == D(1_000)
    line = earned_value_line(session, 106, SEPTEMBER)
    assert "SPI 0.64" in line and "CPI 1.11" in line and "EV 700" in line and "AC 630" in line


def test_the_number_of_queries_does_not_grow_with_programmes(figures, session):
    engine = session.get_bind()
    count = []

    def counter(*_args):
        count[-1] += 1

    every = list(session.scalars(sa.select(Project.id).where(Project.parent_id.is_(None))))
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        for ids in ([figures[YILAN]], every):
            count.append(0)
            programme_earned_value(session, ids, 106, SEPTEMBER)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    assert len(every) > 20 and count[0] == count[1]


# --- the API and the page ----------------------------------------------------------------------------

DOCUMENT = openapi_document()


def documented(body: dict, schema: str) -> None:
    """The body is in the document's schema."""
    jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": DOCUMENT["components"]},
                                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(body)


@pytest.fixture
def headers(figures, make_user, seeded):
    """A reader's bearer header."""
    make_user("lead", "leadership")
    return {"Authorization": f"Bearer {token_for(seeded, 'lead')}"}


def test_the_api_gives_earned_value_on_a_project(client, headers, figures):
    response = client.get(f"/api/v1/projects/{figures[YILAN]}", query_string={"year": "106", "as_of": "106/9/30"},
                          headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    documented(body, "Project")
    ev = body["earned_value"]
    assert ev["as_of"] == "2017-09-30" and ev["year"] == 106
    assert {k: ev[k] for k in ("bac", "pv", "ev", "ac", "sv", "cv", "spi", "eac", "etc", "vac")} == {
        "bac": 1000, "pv": 500, "ev": 400, "ac": 430, "sv": -100, "cv": -30, "spi": 0.8, "eac": 1075, "etc": 645,
        "vac": -75}
    assert ev["cpi"] == pytest.approx(400 / 430) and ev["tcpi"] == pytest.approx(600 / 570)
    missing = client.get(f"/api/v1/projects/{figures[YUNLIN]}", query_string={"as_of": "2017-09-30"},
                         headers=headers).get_json()["earned_value"]
    assert missing["bac"] == 2000 and all(missing[k] is None for k in ("pv", "ev", "ac", "spi", "cpi", "eac", "tcpi"))
    refused = client.get(f"/api/v1/projects/{figures[YILAN]}", query_string={"as_of": "2017-02-30"}, headers=headers)
    assert refused.status_code == 400 and list(refused.get_json()["fields"]) == ["as_of"]


def test_the_api_defaults_to_the_reporting_date_moved_into_the_year(client, headers, figures, session):
    reporting_date.set_reporting_date(session, date(2017, 9, 30), CLI)
    session.commit()
    ev = client.get(f"/api/v1/projects/{figures[YILAN]}", headers=headers).get_json()["earned_value"]
    assert ev["as_of"] == "2017-09-30" and ev["ev"] == 400
    reporting_date.set_reporting_date(session, date(2019, 5, 1), CLI)
    session.commit()
    ev = client.get(f"/api/v1/projects/{figures[YILAN]}", query_string={"year": "106"},
                    headers=headers).get_json()["earned_value"]
    assert ev["as_of"] == "2017-12-31" and ev["ac"] == 700


def test_the_api_lists_earned_value_for_every_programme(client, headers, figures):
    response = client.get("/api/v1/projects", query_string={"year": "106", "as_of": "2017-09-30", "per_page": "500"},
                          headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    documented(body, "ProjectList")
    by_id = {p["id"]: p for p in body["projects"]}
    assert by_id[figures[YILAN]]["earned_value"]["eac"] == 1075
    assert all(p["earned_value"] is None for p in body["projects"] if p["parent_id"] is not None)
    assert any(p["parent_id"] is not None for p in body["projects"])
    assert all(p["earned_value"] is not None for p in body["projects"] if p["parent_id"] is None)


def test_the_document_describes_earned_value_and_as_of():
    schema = DOCUMENT["components"]["schemas"]["EarnedValue"]
    for field in ("bac", "pv", "ev", "ac", "sv", "cv", "spi", "cpi", "eac", "etc", "vac", "tcpi"):
        assert schema["properties"][field]["type"] == ["number", "null"] and schema["properties"][field]["description"]
    assert "可支用預算數" in schema["description"]
    for path in ("/projects", "/projects/{id}"):
        assert "as_of" in [p["name"] for p in DOCUMENT["paths"][path]["get"]["parameters"]]


def test_the_project_page_shows_earned_value_for_programmes(figures, make_user, auth, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    html = client.get(f"/projects/{figures[YILAN]}", query_string={"year": "106", "as_of": "106/9/30"}).get_data(
        as_text=True)
    section = html.split('id="earned-value"')[1].split("</section>")[0]
    assert "實獲值" in section and "106年9月30日" in section
    for label, value in (("BAC", "1,000"), ("PV", "500"), ("EV", "400"), ("AC", "430"), ("EAC", "1,075"),
                         ("VAC", "-75"), ("SPI", "0.80"), ("CPI", "0.93"), ("TCPI", "1.05")):
        row = section.split(f"（{label}")[1].split("</tr>")[0]
        assert value in row, (label, row)
    sub = session.scalar(sa.select(Project.id).where(Project.parent_id.is_not(None)))
    assert 'id="earned-value"' not in client.get(f"/projects/{sub}").get_data(as_text=True)
