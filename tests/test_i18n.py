"""Traditional Chinese by default, English on a switch; the English catalogue is complete and compiled."""
from __future__ import annotations

import configparser
import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tracker.models import Project

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "tracker" / "translations" / "en" / "LC_MESSAGES"
FORENSICS = "提昇法醫鑑識量能計畫"


@pytest.fixture
def reader(seeded, make_user, auth, client):
    """A logged-in leadership user, reading in the default language."""
    make_user("lead", "leadership")
    auth.login("lead")
    return client


def text(client, path: str, status: int = 200) -> str:
    """The page at path, checked for its status."""
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def switch(client, code: str, next_path: str = "/") -> str:
    """Press the header's language link; the Location it sends back."""
    response = client.get(f"/lang/{code}", query_string={"next": next_path})
    assert response.status_code == 302
    return response.headers["Location"]


def project_id(session, name: str) -> int:
    """The id of the programme with this name."""
    return session.scalar(sa.select(Project.id).where(Project.name == name, Project.parent_id.is_(None)))


# --- pages ----------------------------------------------------------------------------------------


def test_portfolio_is_chinese_by_default_and_english_after_the_switch(reader):
    html = text(reader, "/?as_of=106/10/1")
    assert '<html lang="zh-Hant-TW">' in html
    assert "106 年度重要計畫總覽" in html and ">計畫總覽</a>" in html and ">預算執行</a>" in html
    assert "共 57 個計畫" in html and ">登出</button>" in html
    assert 'href="/lang/en?next=/?as_of%3D106/10/1"' in html  # the switch, back to this page
    assert switch(reader, "en", "/?as_of=106/10/1") == "/?as_of=106/10/1"

    html = text(reader, "/?as_of=106/10/1")
    assert '<html lang="en">' in html
    assert "Key programmes of ROC year 106" in html
    for label in (">Portfolio</a>", ">Budget execution</a>", ">Alerts</a>", ">Key performance indicators</a>",
                  ">My account</a>", ">Log out</button>", "<th scope=\"col\">Key programme</th>"):
        assert label in html, label
    assert "57 programmes in all" in html and "106年10月1日" in html  # dates stay in the ROC calendar
    assert "法務部矯正署宜蘭監獄擴建計畫" in html  # data from the database is not translated
    assert ">計畫總覽</a>" not in html and ">中文</a>" in html

    assert switch(reader, "zh") == "/"
    html = text(reader, "/")
    assert '<html lang="zh-Hant-TW">' in html and ">計畫總覽</a>" in html and ">English</a>" in html


def test_project_page_switches_language(reader, session):
    pid = project_id(session, FORENSICS)
    html = text(reader, f"/projects/{pid}")
    for label in ("<h2>里程碑</h2>", "<h2>子計畫</h2>", "<h2>異動紀錄</h2>", "<dt>工作計畫</dt>", "<dt>計畫類別</dt>"):
        assert label in html, label
    switch(reader, "en", f"/projects/{pid}")
    html = text(reader, f"/projects/{pid}")
    for label in ("<h2>Milestones</h2>", "<h2>Sub-plans</h2>", "<h2>Change log</h2>", "<dt>Work plan</dt>",
                  "<dt>Category</dt>", "<dt>Plan years</dt>",
                  "<h2>Budget execution (ROC year 106, month by month)</h2>"):
        assert label in html, label
    assert FORENSICS in html and "計畫3：法醫相驗及解剖案件登革熱研究" in html  # names stay as the plan has them
    assert "<h2>里程碑</h2>" not in html


def test_choice_persists_across_requests_and_pages(reader):
    switch(reader, "en")
    assert "<h1>Budget execution</h1>" in text(reader, "/execution")
    assert "Key performance indicators, ROC year 106" in text(reader, "/kpis")
    assert "<h1>Alerts</h1>" in text(reader, "/alerts")
    assert "<h1>Key programmes of ROC year 106</h1>" in text(reader, "/")


def test_lang_parameter_is_a_one_off(reader):
    html = text(reader, "/kpis?lang=en&year=106")
    assert '<html lang="en">' in html and "Key performance indicators, ROC year 106" in html
    # Switching back from a one-off page returns to it without the ?lang= that would override the choice.
    assert 'href="/lang/zh?next=/kpis?year%3D106"' in html
    assert "106 年度關鍵績效指標" in text(reader, "/kpis")


def test_login_page_switches_and_the_choice_survives_login_and_logout(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    html = text(client, "/login")
    assert '<html lang="zh-Hant-TW">' in html and "<h1>登入</h1>" in html and ">帳號</label>" in html
    assert 'href="/lang/en?next=/login"' in html
    assert switch(client, "en", "/login") == "/login"
    html = text(client, "/login")
    assert '<html lang="en">' in html and "<h1>Log in</h1>" in html
    assert ">Account</label>" in html and ">Password</label>" in html and ">中文</a>" in html

    assert auth.login("lead").status_code == 302
    assert ">Log out</button>" in text(client, "/")  # a login starts a new session but keeps the language
    auth.logout()
    html = text(client, "/login")
    assert "Logged out." in html and "<h1>Log in</h1>" in html


def test_one_off_language_reaches_the_login_page(seeded, client):
    response = client.get("/kpis?lang=en")
    assert response.status_code == 302
    html = text(client, response.headers["Location"])
    assert '<html lang="en">' in html and "<h1>Log in</h1>" in html
    assert "<h1>登入</h1>" in text(client, "/login")  # nothing was remembered


def test_form_messages_follow_the_language(seeded, client):
    switch(client, "en", "/login")
    page = text(client, "/login")
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    html = client.post("/login", data={"name": "", "password": "", "csrf_token": token}).get_data(as_text=True)
    assert "Enter your account name" in html and "Enter your password" in html
    switch(client, "zh", "/login")
    html = client.post("/login", data={"name": "", "password": "", "csrf_token": token}).get_data(as_text=True)
    assert "請輸入帳號" in html and "請輸入密碼" in html


def test_error_page_is_translated_and_the_api_stays_chinese(reader):
    html = text(reader, "/projects/999999", 404)
    assert "錯誤 404" in html and "找不到這個頁面或資料。" in html
    switch(reader, "en")
    html = text(reader, "/projects/999999", 404)
    assert "Error 404" in html and "Page or record not found." in html and "Back to the portfolio" in html
    response = reader.get("/api/v1/nothing-here?lang=en")
    assert response.status_code == 404 and response.get_json()["error"] == "找不到這個頁面或資料。"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "///evil.example/", "/\\evil.example/", "\\\\evil.example/",
    "javascript:alert(1)", "http:/evil.example", "/\t/evil.example", "evil.example", " //evil.example",
])
def test_next_never_leaves_the_site(client, target):
    location = switch(client, "en", target)
    assert location == "/" and not urlsplit(location).netloc


def test_next_keeps_a_path_on_this_site(client):
    assert switch(client, "en", "/kpis?year=106") == "/kpis?year=106"
    assert client.get("/lang/en").headers["Location"] == "/"


def test_unknown_language_is_not_found(reader):
    assert reader.get("/lang/fr?next=/").status_code == 404
    assert '<html lang="zh-Hant-TW">' in text(reader, "/kpis")


# --- the catalogue --------------------------------------------------------------------------------


def _catalogue():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        return read_po(handle)


def _extracted() -> set[tuple[str | None, str]]:
    """(context, msgid) of every string babel.cfg marks for translation, as `pybabel extract -k _l` finds them."""
    config = configparser.RawConfigParser()
    config.read(ROOT / "babel.cfg", encoding="utf-8")
    method_map = [tuple(reversed([part.strip() for part in section.split(":", 1)])) for section in config.sections()]
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, keywords={**DEFAULT_KEYWORDS, "_l": None}):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return "fuzzy" not in message.flags and all(strings)


def _messages(catalog) -> dict:
    """{(context, msgid): translation}; plural forms as tuples (read_mo gives lists)."""
    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {(m.context, plain(m.id)): plain(m.string) for m in catalog if m.id}


def test_mo_file_is_compiled_from_the_po_file():
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue())
    compiled.seek(0)
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        shipped = read_mo(handle)
    assert _messages(read_mo(compiled)) == _messages(shipped), "run: pybabel compile -d tracker/translations"


def test_every_ui_string_has_an_english_translation():
    catalog = _catalogue()
    extracted = _extracted()
    assert len(extracted) > 250  # the templates and tracker/web were found
    assert ("登入" in {msgid for _, msgid in extracted}) and ((None, "重要計畫項目") in extracted)
    by_key = {(m.context, m.id[0] if m.pluralizable else m.id): m for m in catalog if m.id}
    untranslated = sorted(msgid for context, msgid in extracted
                          if (context, msgid) not in by_key or not _translated(by_key[context, msgid]))
    assert not untranslated, f"run pybabel extract/update and translate: {untranslated}"
    assert not [(m.id, errors) for m, errors in catalog.check()]  # placeholders agree with the msgids


def test_english_mode_leaves_only_the_plan_s_own_words_in_chinese(seeded, make_user, auth, client, session):
    """Every label of the interface is translated: what stays Chinese is the plan's data (names, categories,
    systems, steps) and the language switch's own name."""
    import html as html_lib

    from tracker.models import Kpi, Milestone, Plan, PlanEntry, Project, System, WorkPlan
    from tracker.services import audit, demo, reporting_date

    demo.load_demo(session, 106, audit.CLI)
    reporting_date.set_reporting_date(session, demo.demo_reporting_date(session, 106), audit.CLI)
    session.commit()
    words = []
    for model, columns in ((Project, ("name", "category", "content", "agency")), (WorkPlan, ("name",)),
                           (System, ("name",)), (Kpi, ("name", "goal", "measure", "target_text", "unit")),
                           (Milestone, ("name", "source_text")), (Plan, ("title",)), (PlanEntry, ("name_as_written",))):
        for row in session.scalars(sa.select(model)):
            words += [str(getattr(row, c)) for c in columns if getattr(row, c)]
    words += [json.dumps(p.facts, ensure_ascii=False) for p in session.scalars(sa.select(Project))]  # dated history
    data = "\n".join(words)
    make_user("boss", "admin")
    auth.login("boss")
    switch(client, "en")
    programme = session.scalar(sa.select(Project.id).where(Project.parent_id.is_(None), Project.seq == 34))
    for path in ("/", "/dashboard", "/gantt", "/execution", "/kpis", "/alerts", f"/projects/{programme}",
                 "/completeness", "/admin/users", "/admin/jobs", "/account", "/years/106/close"):
        page = re.sub(r"<script.*?</script>", "", text(client, path), flags=re.S)
        shown = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
        runs = {run for chunk in re.findall(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]+", shown)
                for run in re.split(r"[、：（）｜]", chunk) if re.search(r"[\u3400-\u9fff]", run)}
        left = sorted(run for run in runs if run not in data and run != "中文")
        assert not left, f"{path}: untranslated {left[:10]}"
