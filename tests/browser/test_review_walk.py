"""The monthly control loop in a real browser: the manager submits, the reviewer returns it, the manager revises,
the reviewer approves. Two people, two browser contexts, one live tracker; a screenshot at each step.

Debian's /usr/bin/chromium only (see test_browser.py, whose browser fixture and login this reuses): skipped
where it is missing, a failure under TRACKER_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import re
import threading
from datetime import date

import pytest
import sqlalchemy as sa
from test_browser import ARTIFACTS, _free_port, browser, expect, login  # noqa: F401  (browser is a fixture)
from test_progress import BOAI
from waitress import create_server

from tracker import db
from tracker.models import Project
from tracker.services import audit, reporting_date


@pytest.fixture
def served(seeded, make_user):
    """The seeded tracker (SQLite or TRACKER_TEST_DATABASE_URL) with a manager and a reviewer of 檢察,
    the reporting date 106/10/15, served by waitress on a free loopback port."""
    make_user("pm", "project_manager", "檢察")
    make_user("rev", "reviewer", "檢察")
    with db.new_session(seeded) as session:
        reporting_date.set_reporting_date(session, date(2017, 10, 15), audit.CLI)
        session.commit()
        project_id = session.scalars(sa.select(Project.id).where(Project.name == BOAI)).one()
    port = _free_port()
    server = create_server(seeded, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", project_id
    server.close()
    thread.join(timeout=5)


def _person(browser, base: str, name: str):  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-TW")
    page = context.new_page()
    login(page, base, name)
    return context, page


def _shot(page, step: str) -> None:
    """Keep a screenshot, once the page's fonts are in: the Chinese must be drawn with the served CJK font."""
    drawn = page.evaluate("""async () => {
        await document.fonts.ready;
        const faces = await document.fonts.load('16px "Tracker TC"', '已送出退回核定');
        return faces.map(face => face.status);
    }""")
    assert drawn and set(drawn) == {"loaded"}, f"{step}: the CJK font did not load: {drawn}"
    # Every Chinese text drawn, form controls included, falls back to that font (a control that does not inherit
    # the page's font draws empty boxes on a machine without a system CJK font).
    boxes = page.evaluate(r"""() => {
        const cjk = /[\u3400-\u9fff\uff00-\uffef]/;
        const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
        const own = el => el.tagName === 'SELECT' ? (el.selectedOptions[0] || {}).text || ''
            : ['INPUT', 'TEXTAREA'].includes(el.tagName) ? el.value || el.placeholder || ''
            : [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join('');
        return [...document.body.querySelectorAll('*')]
            .filter(el => el.tagName !== 'OPTION' && shown(el) && cjk.test(own(el))
                    && !getComputedStyle(el).fontFamily.includes('Tracker TC'))
            .map(el => `${el.tagName.toLowerCase()}#${el.id}: ${own(el).trim().slice(0, 20)}`);
    }""")
    assert not boxes, f"{step}: Chinese drawn without the served CJK font: {boxes[:5]}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"test_review_walk-{step}.png"), full_page=True)


def test_a_month_is_submitted_returned_revised_and_approved(served, browser):  # noqa: F811
    base, project_id = served
    month_url = f"{base}/projects/{project_id}/months/106-9"
    pm_context, pm = _person(browser, base, "pm")
    rev_context, rev = _person(browser, base, "rev")
    try:
        # 1. The manager reports September: the planned percent comes from the plan and cannot be typed.
        pm.goto(f"{base}/projects/{project_id}/progress?month=106-09")
        expect(pm.locator("h1")).to_contain_text("106 年 9 月進度填報")
        planned = pm.locator("output#planned-percent")
        expect(planned).to_have_text(re.compile(r"^\d+\.\d\d%$"))
        planned_value = float(planned.inner_text().rstrip("%"))
        assert planned_value > 50
        assert pm.locator("input[name=planned_percent]").count() == 0
        pm.fill("#actual_percent", "40")
        pm.fill("#delay_reason", "")
        pm.fill("#remedy", "")
        pm.click("form.progress-form button[type=submit]")
        expect(pm.locator("p.error").first).to_contain_text("未儲存任何資料")
        reason_field = pm.locator(".field", has=pm.locator("#delay_reason"))
        remedy_field = pm.locator(".field", has=pm.locator("#remedy"))
        expect(reason_field.locator("p.error")).to_be_visible()
        expect(remedy_field.locator("p.error")).to_be_visible()
        expect(pm.locator("input[name=planned_percent]")).to_have_count(0)
        _shot(pm, "1-reasons-required")
        pm.fill("#delay_reason", "廠商施工人力不足，進度落後")
        pm.fill("#remedy", "要求廠商增派人力並每週檢討")
        pm.click("form.progress-form button[type=submit]")
        expect(pm).to_have_url(month_url)
        expect(pm.locator(".flash")).to_contain_text("已送出 106 年 9 月進度（第 1 版）")
        expect(pm.locator(".state-line")).to_contain_text("已送出")
        expect(pm.locator("#revision-1")).to_contain_text("廠商施工人力不足")
        _shot(pm, "2-submitted")

        # 2. The reviewer sees one to review, opens it and returns it with a comment.
        rev.goto(base + "/")
        queue_link = rev.locator("header a[href='/review']")
        expect(queue_link).to_contain_text("待審")
        expect(queue_link.locator(".count")).to_have_text("1")
        _shot(rev, "3-reviewer-header")
        queue_link.click()
        expect(rev.locator("#to-review")).to_contain_text("待審（1）")
        row = rev.locator("table.queue tr", has_text="博一大樓")
        expect(row).to_contain_text("第 1 版")
        expect(row).to_contain_text("40%")
        _shot(rev, "4-reviewer-queue")
        row.locator("a").click()
        expect(rev).to_have_url(month_url)
        expect(rev.locator("#review-heading")).to_contain_text("審核第 1 版")
        rev.fill("#comment", "請補充增派人力的時程與人數")
        rev.click("section.review button:has-text('退回')")
        expect(rev.locator(".flash")).to_contain_text("已退回第 1 版")
        expect(rev.locator(".state-line")).to_contain_text("退回")
        expect(rev.locator("#revision-1")).to_contain_text("請補充增派人力的時程與人數")
        _shot(rev, "5-returned")

        # 3. The manager sees it returned, follows the queue to the form and sends a second revision.
        pm.goto(base + "/")
        pm_queue = pm.locator("header a[href='/review']")
        expect(pm_queue).to_contain_text("被退回")
        expect(pm_queue.locator(".count")).to_have_text("1")
        pm_queue.click()
        expect(pm.locator("#returned")).to_contain_text("被退回（1）")
        returned = pm.locator("table.queue tr", has_text="博一大樓")
        expect(returned).to_contain_text("請補充增派人力的時程與人數")
        _shot(pm, "6-manager-returned")
        returned.locator("a").click()
        expect(pm.locator("h1")).to_contain_text("106 年 9 月進度填報")
        expect(pm.locator("p.state")).to_contain_text("退回")
        expect(pm.locator("#actual_percent")).to_have_value(re.compile(r"^40(\.0+)?$"))
        pm.fill("#actual_percent", "45")
        pm.fill("#remedy", "廠商自 10 月 16 日起增派 12 名人力，每週檢討進度")
        pm.click("form.progress-form button[type=submit]")
        expect(pm).to_have_url(month_url)
        expect(pm.locator(".flash")).to_contain_text("第 2 版")
        expect(pm.locator(".state-line")).to_contain_text("已送出")
        expect(pm.locator(".state-line")).to_contain_text("第 2 版")
        expect(pm.locator("#revision-2 h3")).to_contain_text("第 2 版")
        expect(pm.locator("#revision-2 h3")).to_contain_text("已送出")
        expect(pm.locator("#revision-2")).to_contain_text("45")
        expect(pm.locator("#revision-1 h3")).to_contain_text("退回")
        _shot(pm, "7-resubmitted")

        # 4. The reviewer approves the second revision; the month is frozen: no more review buttons.
        rev.goto(month_url)
        expect(rev.locator("#review-heading")).to_contain_text("審核第 2 版")
        rev.click("section.review button:has-text('核定')")
        expect(rev.locator(".flash")).to_contain_text("已核定第 2 版")
        expect(rev.locator(".state-line")).to_contain_text("已核定")
        expect(rev.locator("#revision-2 h3")).to_contain_text("已核定")
        expect(rev.locator("button", has_text="核定")).to_have_count(0)
        expect(rev.locator("button", has_text="退回")).to_have_count(0)
        expect(rev.locator("header a[href='/review'] .count")).to_have_text("0")
        _shot(rev, "8-approved")
    finally:
        pm_context.close()
        rev_context.close()
