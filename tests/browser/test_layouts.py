"""Every screen, in Debian's Chromium: the execution table at 1366 px with its official columns in view, pages at
390 px without sideways scrolling, no axe-core violation on any page, and no glyph the page's font lacks.

axe-core comes from npm into the test environment (`.ci/run` installs it; AXE_CORE_JS names axe.min.js).
"""
from __future__ import annotations

import os
import re
import threading
import unicodedata
from pathlib import Path

import pytest
from conftest import PASSWORD, SEED_PATH
from test_browser import ARTIFACTS, _free_port, browser, expect, login  # noqa: F401  (browser is a fixture)

from tracker import db, migrate
from tracker.app import create_app
from tracker.services import accounts, audit, demo, reporting_date, seed

REQUIRED = os.environ.get("TRACKER_REQUIRE_BROWSER") == "1"
AXE_JS = Path(os.environ.get("AXE_CORE_JS", "/work/npm/node_modules/axe-core/axe.min.js"))

#: The execution table's official columns (the layout of the ministry's table), which must all be in view.
OFFICIAL = ("項目", "可支用預算數", "累計分配數", "累計執行數", "分配預算執行率(%)", "經費達成率(%)", "已分配未執行數",
            "預估年底執行率(%)", "每月尚需執行數")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The tracker with the 106 plan, the demo figures and one user of each role, on a loopback port."""
    from waitress import create_server

    from conftest import TEST_PG_URL, reset_postgres

    tmp = tmp_path_factory.mktemp("layouts")
    url = TEST_PG_URL or db.sqlite_url(tmp / "tracker.db")
    if TEST_PG_URL:
        reset_postgres(TEST_PG_URL)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "layouts", "DATA_DIR": str(tmp), "RUN_SCHEDULER_IN_SERVER": False})
    migrate.upgrade(db.get_engine(app))
    with db.new_session(app) as session:
        seed.load_seed_file(session, SEED_PATH)
        for name, role, system in (("pm", "project_manager", "檢察"), ("lead", "leadership", None),
                                   ("officer", "budget_officer", None), ("boss", "admin", None)):
            accounts.create_user(session, name, role, PASSWORD, system, audit.CLI)
        demo.load_demo(session, 106, audit.CLI)
        reporting_date.set_reporting_date(session, demo.demo_reporting_date(session, 106), audit.CLI)
        session.commit()
    port = _free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=5)
    db.get_engine(app).dispose()


def new_page(browser, width: int, height: int = 900):
    """A page in a fresh context; axe is injected through the DevTools protocol, so the context bypasses CSP for
    the test's own script only (the pages' CSP is tested elsewhere)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-TW", bypass_csp=True)
    return context.new_page()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def programme_page(page, base: str, words: str) -> str:
    """The URL of the first programme a search finds."""
    page.goto(f"{base}/?q={words}")
    return page.locator("table.portfolio tbody a").first.get_attribute("href")


# ------------------------------------------------------------------------------------------- 1366 px

def test_the_execution_table_shows_its_official_columns_at_1366_px(live, browser):
    page = new_page(browser, 1366)
    login(page, live, "officer")
    page.goto(f"{live}/execution?year=106")
    headings = page.locator("table.execution thead th")
    expect(headings.first).to_be_visible()
    texts = [t.strip().rstrip("▲▼ ").strip() for t in headings.all_inner_texts()]
    assert [t for t in texts if t in OFFICIAL] == list(OFFICIAL)
    width = page.evaluate("window.innerWidth")
    for index, text in enumerate(texts):
        if text in OFFICIAL:
            box = headings.nth(index).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{text} is off-screen: {box}"
    # the first column stays in place when the table scrolls sideways
    page.locator(".scroll").first.evaluate("el => el.scrollLeft = 400")
    first = page.locator("table.execution tbody th").first.bounding_box()
    assert first["x"] < 40
    shot(page, "execution-1366")
    page.context.close()


# -------------------------------------------------------------------------------------------- 390 px

def _fits(page) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .filter(e => !e.parentElement.closest('table, .scroll'))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' +
                          Math.round(e.getBoundingClientRect().right))""")
    assert scroll <= inner, f"{page.url}: the page is {scroll} px wide in a {inner} px window: {wide}"


def test_the_progress_form_and_the_main_pages_fit_a_phone(live, browser):
    page = new_page(browser, 390, 844)
    login(page, live, "pm")
    project = programme_page(page, live, "博一")
    page.goto(f"{live}{project}/progress?month=106-08")
    expect(page.locator("form.progress-form")).to_be_visible()
    _fits(page)
    field = page.locator("#actual_percent").bounding_box()
    assert field["width"] >= 120, "the percent field is wide enough to type in"
    shot(page, "progress-form-390")
    for path in ("/", project, "/alerts", "/dashboard"):
        page.goto(f"{live}{path}")
        _fits(page)
    shot(page, "alerts-390")
    page.context.close()


# --------------------------------------------------------------------------------- axe and glyphs

def _pages(base: str, page) -> list[tuple[str, str]]:
    project = programme_page(page, base, "博一")
    return [("lead", "/dashboard"), ("lead", "/"), ("lead", "/gantt"), ("lead", "/gantt?scale=month"), ("lead", project), ("lead", "/kpis"), ("lead", "/alerts"), ("lead", "/execution"),
            ("lead", "/completeness"), ("officer", "/ledger/import"), ("pm", f"{project}/progress?month=106-08"),
            ("boss", "/admin/plans"), ("boss", "/admin/users"), ("boss", "/admin/jobs"), ("boss", "/admin/audit"),
            ("boss", "/admin/reporting-date"), ("boss", "/account"), ("boss", "/years/106/close"),
            ("boss", "/review"), ("officer", "/ledger/history")]


def _font_characters(page, base: str) -> set[str]:
    """The characters the page's own web font has glyphs for: every slice's unicode-range (each slice holds the
    glyphs of its range, as Google Fonts cut them)."""
    css = page.request.get(f"{base}/static/fonts/noto-sans-tc.css").text()
    covered: set[str] = set()
    for part in re.findall(r"U\+([0-9a-fA-F]+(?:-[0-9a-fA-F]+)?)", css):
        low, _, high = part.partition("-")
        covered.update(chr(code) for code in range(int(low, 16), int(high or low, 16) + 1))
    return covered


def _needs_a_cjk_glyph(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F") and not char.isspace()


def test_no_page_has_an_axe_violation_or_a_missing_glyph(live, browser):
    if not AXE_JS.exists():
        if REQUIRED:
            raise RuntimeError(f"axe-core not found at {AXE_JS}: `npm install axe-core` (see .ci/run)")
        pytest.skip("axe-core is not installed (npm install axe-core)")
    axe = AXE_JS.read_text(encoding="utf-8")
    page = new_page(browser, 1366)
    glyphs = None
    found: dict[str, list] = {}
    page.goto(f"{live}/login")  # the one page an anonymous visitor sees
    pages = [(None, "/login")]
    login(page, live, "lead")
    user = "lead"
    pages += _pages(live, page)
    for name, path in pages:
        if name is None:
            page.context.clear_cookies()
        elif name != user:
            page.context.clear_cookies()
            login(page, live, name)
        user = name
        page.goto(f"{live}{path}")
        page.evaluate(axe)
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        if result:
            found[path] = result
        glyphs = glyphs or _font_characters(page, live)
        text = page.evaluate("document.body.innerText")
        missing = sorted({c for c in text if _needs_a_cjk_glyph(c) and c not in glyphs})
        assert not missing, f"{path}: the page's font has no glyph for {''.join(missing[:20])}"
        shot(page, "axe-" + (re.sub(r"\W+", "-", path).strip("-") or "home"))
    page.context.close()
    assert not found, found
