"""The web Gantt chart in a real browser (Debian's Chromium through Playwright): each scale, collapsing groups,
a keyboard walk with the details shown on focus, and Chinese drawn in glyphs. Screenshots go to test-artifacts/.

Reuses test_browser.py's live server, browser and login (skipped, like it, where Chromium is missing).
"""
from __future__ import annotations

import re

import pytest
import test_browser
from test_browser import ARTIFACTS, expect, login

#: test_browser.py's fixtures: the live tracker (106 plan, users pm, lead, officer) and Debian's Chromium
live, browser = test_browser.live, test_browser.browser

GANTT = "/gantt?as_of=106/9/30"
CJK_FONTS = ("Tracker TC", "Tracker CJK", "Noto Sans CJK", "Noto Sans TC", "Noto Serif CJK", "WenQuanYi", "AR PL")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-TW")
    page = context.new_page()
    page.problems = []
    def console(message):
        where = (message.location or {}).get("url", "")
        if message.type == "error" and not where.endswith("/favicon.ico"):  # a missing icon is no fault of the chart
            page.problems.append(f"{message.text} {where}")
    page.on("console", console)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"test_gantt-{name}.png"))


def visible_bars(page) -> int:
    return page.evaluate("() => [...document.querySelectorAll('#gantt .g-bar')].filter(e => e.checkVisibility()).length")


def active(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {cls: e.className, id: e.id, tag: e.tagName, tip: e.getAttribute('aria-describedby'),
                label: e.getAttribute('aria-label') || e.textContent.trim().slice(0, 60)}; }""")


def fonts_drawing(page, selector: str) -> list[tuple[str, int]]:
    """The fonts Chromium really drew an element's text with (DevTools' platform fonts), with glyph counts."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [(f["familyName"], f["glyphCount"]) for f in fonts]


def assert_chinese_glyphs(page) -> None:
    page.evaluate("document.fonts.ready")
    label = page.locator("#gantt .g-label").first
    text = label.text_content()
    assert re.search(r"[\u4e00-\u9fff]", text)
    drawn = fonts_drawing(page, "#gantt .g-label")
    assert drawn and all(any(name in family for name in CJK_FONTS) for family, _ in drawn), drawn
    assert sum(count for _, count in drawn) >= len(text.strip()) - 2, drawn
    # a missing glyph's box is narrow and the same for every character; glyphs take a CJK character's width
    widths = page.evaluate("""() => {
        const span = document.createElement('span');
        document.querySelector('#gantt .g-name').append(span);
        const w = t => { span.textContent = t; return span.getBoundingClientRect().width; };
        const out = [w('計畫期程'), w('iiii')]; span.remove(); return out; }""")
    assert widths[0] > widths[1] * 2, widths


def test_each_scale_and_switching_without_a_reload(live, page):
    base, _ = live
    login(page, base, "lead")
    page.goto(f"{base}{GANTT}&scale=year")
    chart = page.locator("#gantt")
    expect(chart).to_have_attribute("data-scale", "year")
    expect(chart).to_have_attribute("role", "region")
    assert "甘特圖" in chart.get_attribute("aria-label")
    expect(page.locator(".g-axis text", has_text="106年")).to_have_count(1)
    expect(page.locator(".g-axis text", has_text="Q1")).to_have_count(0)
    asof = page.locator(".g-grid .g-asof")
    expect(asof).to_have_count(1)
    assert visible_bars(page) > 20
    assert_chinese_glyphs(page)
    shot(page, "scale-year")
    year_width = page.locator(".g-axis").bounding_box()["width"]

    page.evaluate("window.__sameDocument = true")
    page.click(".gantt-scales a[data-scale=quarter]")
    expect(chart).to_have_attribute("data-scale", "quarter")
    assert page.evaluate("window.__sameDocument === true")  # switched in place, not reloaded
    assert "scale=quarter" in page.url
    expect(page.locator(".g-axis text", has_text="Q3").first).to_be_visible()
    shot(page, "scale-quarter")

    page.locator("#gantt .g-bar").first.focus()
    page.keyboard.press("+")  # zoom in
    expect(chart).to_have_attribute("data-scale", "month")
    assert page.evaluate("window.__sameDocument === true") and "scale=month" in page.url
    expect(page.locator(".g-axis text", has_text="9月").first).to_be_attached()
    month_width = page.locator(".g-axis").bounding_box()["width"]
    assert month_width > year_width * 4
    # the names stay while the time axis scrolls
    name = page.locator("#gantt .g-name").nth(3)
    before = name.bounding_box()["x"]
    page.locator(".g-scroll").evaluate("el => { el.scrollLeft = el.scrollLeft + 500; }")
    assert name.bounding_box()["x"] == before
    assert_chinese_glyphs(page)
    shot(page, "scale-month")

    # without script the same links load the page at their scale
    page.goto(f"{base}{GANTT}&scale=month")
    expect(chart).to_have_attribute("data-scale", "month")
    box = page.locator(".g-scroll").bounding_box()  # a page opens on the reporting-date line
    line = asof.bounding_box()
    assert box["x"] + 300 <= line["x"] <= box["x"] + box["width"]
    assert not page.problems, page.problems  # no CSP refusals, no script errors


def test_collapsing_a_group(live, page):
    base, _ = live
    login(page, base, "lead")
    page.goto(f"{base}{GANTT}")
    everything = visible_bars(page)
    system = page.locator("details.g-system").first
    system.locator(":scope > summary").click()
    assert system.get_attribute("open") is None
    shown = visible_bars(page)
    assert 0 < shown < everything
    expect(system.locator(".g-bar").first).to_be_hidden()
    shot(page, "collapsed-group")
    system.locator(":scope > summary").click()
    assert visible_bars(page) == everything
    page.click("button[data-gantt-toggle=close]")
    assert visible_bars(page) == 0
    expect(page.locator("details.g-system > summary").first).to_be_visible()
    page.click("button[data-gantt-toggle=open]")
    assert visible_bars(page) == everything
    assert not page.problems, page.problems


def test_a_keyboard_walk_across_the_bars(live, page):
    base, _ = live
    login(page, base, "lead")
    page.goto(f"{base}{GANTT}")
    # one Tab stop for the whole chart: the arrows walk inside it
    tabbable = page.evaluate("() => [...document.querySelectorAll('#gantt a[href], #gantt [tabindex], #gantt summary')]"
                             ".filter(e => e.tabIndex >= 0 && e.checkVisibility()).length")
    assert tabbable == 1
    page.locator(".skip-gantt").focus()
    expect(page.locator(".skip-gantt")).to_be_visible()
    page.keyboard.press("Tab")
    assert active(page)["tag"] == "SUMMARY"  # the first group
    page.keyboard.press("ArrowDown")  # its first work plan
    assert active(page)["tag"] == "SUMMARY"
    page.keyboard.press("ArrowDown")
    first = active(page)
    assert first["cls"] == "g-bar" and first["tip"]
    tip = page.locator(f"#{first['tip']}")
    expect(tip).to_be_visible()  # the details on focus
    expect(tip).to_contain_text("基準期程")
    expect(tip).to_contain_text("完成百分比")
    shot(page, "keyboard-details")
    seen = {first["tip"]}
    for _ in range(5):
        page.keyboard.press("ArrowDown")
        now = active(page)
        if now["cls"] == "g-bar":
            expect(page.locator(f"#{now['tip']}")).to_be_visible()
            seen.add(now["tip"])
    assert len(seen) >= 4
    page.keyboard.press("ArrowUp")
    assert active(page)["tip"] in seen
    # Left goes up to the group, Left again collapses it, Right opens it
    page.keyboard.press("ArrowLeft")
    assert active(page)["tag"] == "SUMMARY"
    plan = page.locator("details.g-plan").first
    page.keyboard.press("ArrowLeft")
    assert plan.get_attribute("open") is None
    page.keyboard.press("ArrowRight")
    assert plan.get_attribute("open") is not None
    # Tab leaves the chart at once, Shift+Tab comes back to where the walk was
    page.keyboard.press("Tab")
    assert page.evaluate("!document.getElementById('gantt').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert active(page)["tag"] == "SUMMARY"
    # Enter on a bar opens its project
    page.keyboard.press("ArrowDown")
    assert active(page)["cls"] == "g-bar"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/projects/\d+"))
    assert not page.problems, page.problems


def test_the_skip_link_and_details_on_hover(live, page):
    base, _ = live
    login(page, base, "lead")
    page.goto(f"{base}{GANTT}")
    page.locator(".skip-gantt").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#gantt-after$"))
    assert page.evaluate("document.activeElement.id") == "gantt-after"
    bar = page.locator("#gantt .g-bar").nth(2)
    bar.hover()
    tip = page.locator("#" + bar.get_attribute("aria-describedby"))
    expect(tip).to_be_visible()
    shot(page, "hover-details")
