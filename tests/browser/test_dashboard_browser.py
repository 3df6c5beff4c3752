"""The dashboard in a real browser: leadership logs in and lands on it; at 390 px it fits the screen (no sideways
scrolling); printed, the site's chrome is gone and every block is there. Screenshots in test-artifacts/.

Debian's /usr/bin/chromium only (see test_browser.py, whose browser fixture and login this reuses): skipped
where it is missing, a failure under TRACKER_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from test_browser import ARTIFACTS, _free_port, browser, expect, login  # noqa: F401  (browser is a fixture)
from waitress import create_server

from conftest import TAICHUNG, YILAN, add_budget, add_month, project_id
from tracker import db
from tracker.models import PlannedCurve, ProgressReport
from tracker.services import audit, reporting_date

DELAY = "工地開挖遭遇地下障礙物，須辦理變更設計，主體工程暫停兩週"


@pytest.fixture
def served(seeded, make_user):
    """The seeded tracker with 106 capital figures to September, 宜蘭 behind with its 落後原因, a leader, and the
    reporting date 106/10/15, served by waitress on a free loopback port."""
    make_user("lead", "leadership")
    with db.new_session(seeded) as session:
        add_budget(session, YILAN, 550_000)
        add_budget(session, TAICHUNG, 1_000_000)
        for month, paid in ((7, 100_000), (8, 150_000), (9, 180_000)):
            add_month(session, YILAN, month, paid + 50_000, paid, 10_000)
            add_month(session, TAICHUNG, month, paid, paid // 2)
        pid = project_id(session, YILAN)
        for m in range(1, 13):
            session.add(PlannedCurve(project_id=pid, year_roc=106, month=m,
                                     planned_percent=(Decimal(m) * 10 / 3).quantize(Decimal("0.01"))))
        session.add(ProgressReport(project_id=pid, year_roc=106, month=9, revision=1, planned_percent=Decimal(30),
                                   actual_percent=Decimal(5), delay_reason=DELAY, remedy="增派夜間班次趕工",
                                   state="submitted", milestones={}))
        reporting_date.set_reporting_date(session, date(2017, 10, 15), audit.CLI)
        session.commit()
    port = _free_port()
    server = create_server(seeded, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", pid
    server.close()
    thread.join(timeout=5)


def _width(page) -> tuple[int, int]:
    """The document's width and the viewport's, in CSS pixels."""
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")


def _wide_elements(page) -> list[str]:
    """Elements whose right edge passes the viewport (to say what overflows, when something does)."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")


def test_leadership_lands_on_the_dashboard_and_reads_it_on_a_phone_and_on_paper(served, browser):  # noqa: F811
    base, pid = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-TW")
    page = context.new_page()
    try:
        login(page, base, "lead")
        expect(page).to_have_url(f"{base}/dashboard")
        expect(page.locator("h1")).to_have_text("106 年度儀表板")
        expect(page.locator("header nav a").first).to_have_text("儀表板")
        expect(page.locator("#kpi-ytd")).to_contain_text("%")
        expect(page.locator("#kpi-forecast")).to_contain_text("%")
        expect(page.locator(f"#red-{pid}")).to_contain_text(DELAY)
        expect(page.locator("table.dash-trend tbody tr")).to_have_count(6)
        expect(page.locator("#completeness-line")).to_contain_text("9 月進度已報")
        expect(page.locator("table.dash-by-system")).to_contain_text("矯正")
        page.screenshot(path=str(ARTIFACTS / "dashboard-1366.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        width, viewport = _width(page)
        assert width <= viewport, f"document {width}px in a {viewport}px viewport: {_wide_elements(page)}"
        for block in ("#kpi-capital", "table.dash-trend", f"#red-{pid}", "table.dash-by-system", "#earned-value"):
            box = page.locator(block).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport + 0.5, (block, box)
        page.screenshot(path=str(ARTIFACTS / "dashboard-390.png"), full_page=True)
        # the red programme's report is one tap away
        page.locator(f"#red-{pid} .dash-reason a").click()
        expect(page).to_have_url(f"{base}/projects/{pid}/months/106-9")
        page.go_back()

        page.set_viewport_size({"width": 1366, "height": 900})
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("#kpi-capital")).to_be_visible()
        expect(page.locator("#earned-value")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-print.png"), full_page=True)
        page.goto(f"{base}/?year=106")
        expect(page.locator("form.filters")).to_be_hidden()
        expect(page.locator("table.portfolio")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "portfolio-print.png"), full_page=True)
    finally:
        context.close()
