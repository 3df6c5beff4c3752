"""The pages leadership and managers read: portfolio, project, KPIs, errors."""
from __future__ import annotations

import re

import sqlalchemy as sa
import pytest

from tracker.models import PlanEntry, Project


@pytest.fixture
def reader(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    auth.login("lead")
    return client


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def project_names(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/\d+">([^<]+)</a>', html)


def test_portfolio_grouped_by_system_then_work_plan(reader):
    html = page(reader, "/")
    systems = re.findall(r'<tr class="group-system"><th colspan="8" scope="rowgroup"><span[^>]*></span> ([^<]+)</th>', html)
    assert systems == ["檢察", "調查", "矯正", "行政執行", "廉政", "部本部"]
    # 57 programmes, 5 of them joint and listed under two systems (62 rows): each is counted once
    assert "共 57 個計畫" in html and "只計一次" in html
    corrections = html.split("</span> 矯正</th>")[1].split('class="group-system"')[0]
    assert "改善監所計畫" in corrections and "法務部矯正署宜蘭監獄擴建計畫" in corrections


def test_filter_by_system_category_and_year(reader):
    names = project_names(page(reader, "/?system=corrections"))
    assert "法務部矯正署宜蘭監獄擴建計畫" in names and "執行肅貪工作" not in names
    assert len(names) == 5  # 4 of 矯正 + the joint 卷證數位化暨獄政假釋無紙化計畫
    names = project_names(page(reader, "/?system=檢察&category=公共建設"))
    assert len(names) == 2 and all(("臺中" in n or "彰化" in n) for n in names)
    # the year is the plan's: 106 lists its 57 programmes; a year whose plan is not loaded lists none, and says so
    assert len(set(project_names(page(reader, "/?year=106")))) == 57
    html = page(reader, "/?year=110")
    assert project_names(html) == [] and "110 年度計畫尚未載入" in html


def test_search_finds_projects_sub_plans_and_work_plans(reader):
    assert set(project_names(page(reader, "/?q=法醫"))) == {"提昇法醫鑑識量能計畫"}
    assert set(project_names(page(reader, "/?q=聲紋"))) == {"法務部調查局前瞻鑑識科技進階計畫"}  # a sub-plan's name
    assert len(set(project_names(page(reader, "/?q=改善監所計畫")))) == 2
    assert "沒有符合條件的計畫" in page(reader, "/?q=%25")  # a literal %, not a wildcard


def test_search_folds_tai_takes_several_words_and_the_plan_code(reader):
    taichung = set(project_names(page(reader, "/?q=台中")))  # the plan writes 臺中
    assert taichung and all("臺中" in name for name in taichung)
    assert set(project_names(page(reader, "/?q=宜蘭 擴建"))) == {"法務部矯正署宜蘭監獄擴建計畫"}  # both words
    assert set(project_names(page(reader, "/?q=宜蘭 不存在的字"))) == set()
    assert set(project_names(page(reader, "/?q=48"))) == {"法務部調查局嘉義市調查站辦公房舍遷建計畫"}  # the plan code
    assert set(project_names(page(reader, "/?q=４８"))) == {"法務部調查局嘉義市調查站辦公房舍遷建計畫"}  # full-width


def test_a_filtered_portfolio_says_what_it_shows_and_rolls_up_only_that(reader, app):
    html = page(reader, "/?system=corrections&as_of=2030-12-31")
    assert "106 年度重要計畫總覽<span class=\"narrowed\">：矯正</span>" in html
    # long after every planned finish: programmes with milestones are red, those without have no light; the
    # 矯正 group rolls up its own programmes only
    system_light = re.search(r'<tr class="group-system"><th[^>]*><span class="light light-(\w+)"', html).group(1)
    programme_lights = re.findall(r'<td><span class="light light-(\w+)" role="img"', html)
    order = ["none", "green", "yellow", "red"]
    assert system_light == max(programme_lights, key=order.index)
    searched = page(reader, "/?q=%E8%81%BD%E8%AD%89")  # a word no programme has: nothing rolls up
    assert "：「聽證」" in searched and "沒有符合條件的計畫" in searched


def test_bad_filter_is_explained(reader):
    response = reader.get("/?year=abc")
    assert response.status_code == 400
    assert "年度須為民國年" in response.get_data(as_text=True)
    response = reader.get("/?system=法院")
    assert response.status_code == 400 and "沒有名為「法院」的系統" in response.get_data(as_text=True)


def test_paging(seeded, app, make_user, auth, client):
    app.config["PAGE_SIZE"] = 20
    make_user("lead", "leadership")
    auth.login("lead")
    first = page(client, "/")
    assert "第 1／4 頁" in first and 'rel="next"' in first
    last = page(client, "/?page=4")
    assert len(project_names(last)) == 2 and 'rel="prev"' in last


def test_project_page_shows_phase_and_roc_dates(reader, session):
    monitoring = session.scalar(sa.select(Project.id).where(Project.name == "矯正機關智慧監控系統建置計畫"))
    html = page(reader, f"/projects/{monitoring}")
    assert "第 1 年／共 3 年" in html and "106 至 108 年度" in html
    boai = session.scalar(sa.select(Project.id).where(Project.name.like("%博一大樓%")))
    html = page(reader, f"/projects/{boai}")
    assert "106年1月至3月" in html and "106年4月至6月" in html and "106年7月至12月" in html
    assert "辦理委託專案管理廠商代辦採購事宜" in html
    assert "105年1月30日" in html  # history in ROC dates


def test_project_page_lists_sub_plans_with_their_phases(reader, session):
    medical = session.scalar(sa.select(Project.id).where(Project.name == "提昇法醫鑑識量能計畫"))
    html = page(reader, f"/projects/{medical}")
    assert html.count('class="subplan"') == 9
    assert "計畫3：法醫相驗及解剖案件登革熱研究" in html
    assert "第 1 年／共 2 年" in html and "第 1 年／共 4 年" in html


def test_kpi_page_lists_16_with_direction_and_programmes(reader):
    html = page(reader, "/kpis")
    assert html.count('<tr id="kpi-') == 16
    row = html.split('id="kpi-四-1"')[1].split("</tr>")[0]
    assert "52 日" in row and "以下（≤）" in row and "臺灣士林地方法院檢察署" in row
    assert "以上（≥）" in html.split('id="kpi-九-1"')[1].split("</tr>")[0]


def test_output_is_escaped(reader, app, session):
    project = session.scalars(sa.select(Project).where(Project.seq == 1, Project.parent_id.is_(None))).one()
    project.name = "<script>alert(1)</script>"
    for entry in session.scalars(sa.select(PlanEntry).where(PlanEntry.project_id == project.id)):
        entry.name = project.name  # the name as the year's plan lists it, which the page shows
    session.commit()
    html = page(reader, f"/projects/{project.id}")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_missing_project_gets_a_page_not_a_trace(reader):
    response = reader.get("/projects/999999")
    assert response.status_code == 404
    assert "找不到" in response.get_data(as_text=True)


def test_unexpected_error_gets_a_page(reader, app, session):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    session.execute(sa.text("DROP TABLE audit_log"))  # the project page reads it: a broken database
    session.commit()
    response = reader.get("/projects/1")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "系統發生錯誤" in body and "audit_log" not in body and "Traceback" not in body


def test_static_assets_are_local(reader):
    html = page(reader, "/")
    assert "http://" not in html and "https://" not in html
    with reader.get("/static/style.css") as css:
        assert css.status_code == 200 and b"font-family" in css.data


# --- odd query arguments: a 4xx naming what is wrong, never a server error ---------------------------------

ODD_NUMBERS = ("²", "١٠٦", "1" * 5000, "-1", "1e3")


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_odd_numbers_in_page_arguments_are_refused_or_ignored_never_a_500(reader, session, odd):
    project_id = session.scalar(sa.select(Project.id).where(Project.parent_id.is_(None)).limit(1))
    for path, expected in ((f"/kpis?year={odd}", 400), (f"/execution?year={odd}", 400), (f"/?year={odd}", 400),
                           (f"/?page={odd}", 200), (f"/alerts?page={odd}", 200),
                           (f"/gantt.svg?rows={odd}", 400), (f"/execution/s-curve.svg?project={odd}", 400),
                           (f"/projects/{project_id}/reports/106-9?b={odd}", 404)):
        assert reader.get(path).status_code == expected, path


def test_ids_past_any_database_id_are_not_found(reader):
    for path in (f"/projects/{2**63}", f"/projects/{2**64}", f"/milestones/{2**63}/replan",
                 f"/projects/{2**63}/progress", f"/projects/{2**63}/curve"):
        assert reader.get(path).status_code == 404, path


def test_a_bad_year_keeps_its_words(reader):
    response = reader.get("/kpis?year=²")
    assert response.status_code == 400 and "年度須為民國年，例如 106" in response.get_data(as_text=True)
    assert "年度須為民國年（例如 106），而非「²」" in reader.get("/?year=²").get_data(as_text=True)


def test_the_menu_asks_the_permission_rule(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    make_user("officer", "budget_officer")
    make_user("boss", "admin")
    auth.login("lead")
    html = page(client, "/kpis")
    assert ">匯入月報</a>" not in html and ">排程工作</a>" not in html and 'class="kpi-form"' not in html
    auth.logout()
    auth.login("officer")
    html = page(client, "/kpis")
    assert ">匯入月報</a>" in html and ">排程工作</a>" not in html and 'class="kpi-form"' in html
    auth.logout()
    auth.login("boss")
    html = page(client, "/alerts")
    assert ">匯入月報</a>" in html and ">排程工作</a>" in html and ">帳號管理</a>" in html
    assert 'href="/alerts" aria-current="page"' in html


def test_the_web_labels_say_what_the_domain_labels_say(app):
    from tracker.domain import labels
    from tracker.web import filters

    with app.test_request_context("/"):
        assert {k: str(v) for k, v in filters.STATUS_LABELS.items()} == labels.STATUS_LABELS
        assert {k: str(v) for k, v in filters.DIRECTION_LABELS.items()} == labels.DIRECTION_LABELS
