"""The data stamp: cached pages follow every committed change, from any process, and nothing else."""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker import db
from tracker.models import Milestone, PlanEntry, Project
from tracker.services import datastamp, lights
from tracker.services.cache import StampedCache

from conftest import YILAN, project_id


def _stamp(app) -> int:
    with db.new_session(app) as s:
        return datastamp.current(s)


def test_portfolio_page_shows_what_another_process_just_changed(seeded, make_user, auth, client):
    make_user("chief", "leadership")
    auth.login("chief")
    def content(html: str) -> str:  # the page without its CSRF tokens, which carry the second they were signed
        return re.sub(r'name="csrf_token" value="[^"]*"', "", html)

    before = client.get("/?as_of=2017-06-30").get_data(as_text=True)
    assert YILAN in before
    assert content(client.get("/?as_of=2017-06-30").get_data(as_text=True)) == content(before)  # served again, unchanged

    with db.new_session(seeded) as other:  # as the CLI or the scheduler would, outside this web process's request
        renamed = other.get(Project, project_id(other, YILAN))
        renamed.name = "宜蘭監獄擴建計畫（更名）"
        for entry in other.scalars(sa.select(PlanEntry).where(PlanEntry.project_id == renamed.id)):
            entry.name = renamed.name  # the name as the year's plan lists it, which the pages show
        other.commit()

    after = client.get("/?as_of=2017-06-30").get_data(as_text=True)
    assert "宜蘭監獄擴建計畫（更名）" in after and YILAN not in after


def test_portfolio_lights_follow_a_milestone_finished_elsewhere(seeded, make_user, auth, client):
    with db.new_session(seeded) as s:  # a programme with milestones of its own
        programme = s.scalars(sa.select(Project).join(Milestone, Milestone.project_id == Project.id)
                              .where(Project.parent_id.is_(None)).order_by(Project.seq).limit(1)).one()
        name, programme_id = programme.name, programme.id
    make_user("chief", "leadership")
    auth.login("chief")
    url = f"/?as_of=2030-12-31&q={name}"  # long after every planned finish: every open milestone is overdue (red)

    def light_of_programme():
        page = client.get(url).get_data(as_text=True)
        return re.search(r'title="([^"]+)"></span></td>\s*<td class="code">[\d-]+</td>\s*<td><a href="[^"]+">' + re.escape(name),
                         page).group(1)

    assert light_of_programme() == "紅燈"
    with db.new_session(seeded) as other:  # the programme's manager finishes everything, in another process
        ids = list(other.scalars(sa.select(Project.id).where(
            sa.or_(Project.id == programme_id, Project.parent_id == programme_id))))
        for m in other.scalars(sa.select(Milestone).where(Milestone.project_id.in_(ids))):
            m.status, m.percent_complete, m.actual_finish_on = "done", 100, m.planned_finish_on
            m.actual_start_on = m.actual_start_on or m.planned_start_on
        other.commit()
    assert light_of_programme() == "綠燈"


def test_stamp_moves_only_on_committed_changes_to_what_pages_show(seeded, make_user, auth):
    make_user("chief", "leadership")
    start = _stamp(seeded)
    assert auth.login("chief").status_code == 302  # a login writes the audit log and login attempts only
    assert _stamp(seeded) == start

    with db.new_session(seeded) as s:
        s.get(Project, project_id(s, YILAN)).name = "不會留下的名稱"
        assert datastamp.current(s) is None  # uncommitted: no cache may serve or keep this session's view
        s.rollback()
    assert _stamp(seeded) == start

    with db.new_session(seeded) as s:  # a bulk statement counts as much as an object change
        s.execute(sa.update(Project).where(Project.id == project_id(s, YILAN)).values(description="改"))
        s.commit()
    changed = _stamp(seeded)
    assert changed != start

    with db.new_session(seeded) as s:  # a commit that wrote nothing leaves it
        s.scalar(sa.select(sa.func.count(Project.id)))
        s.commit()
    assert _stamp(seeded) == changed


def test_cache_keeps_a_value_for_one_stamp_and_a_bounded_number_of_keys():
    cache = StampedCache(size=2)
    built = []

    def build(value):
        return lambda: built.append(value) or value

    assert cache.get_or_build(1, "a", build("a1")) == "a1"
    assert cache.get_or_build(1, "a", build("a1 again")) == "a1"
    assert cache.get_or_build(2, "a", build("a2")) == "a2"  # a new stamp: built afresh
    assert cache.get_or_build(None, "a", build("uncommitted")) == "uncommitted"
    assert cache.get_or_build(2, "a", build("a2 again")) == "a2"  # what an uncommitted view built was not kept
    cache.get_or_build(2, "b", build("b"))
    cache.get_or_build(2, "c", build("c"))  # the least recently used key ("a") goes
    assert cache.get_or_build(2, "a", build("a2 rebuilt")) == "a2 rebuilt"
    assert built == ["a1", "a2", "uncommitted", "b", "c", "a2 rebuilt"]


def test_lights_after_a_change_judge_only_what_changed_and_match_a_full_judgement(seeded, monkeypatch):
    as_of = date(2018, 6, 30)
    with db.new_session(seeded) as s:
        lights.portfolio_lights(s, as_of)  # judged once: every programme
        m = s.scalars(sa.select(Milestone).where(Milestone.status != "done").order_by(Milestone.id)).first()
        m.status, m.percent_complete = "done", 100
        m.actual_start_on, m.actual_finish_on = m.planned_start_on, m.planned_finish_on
        s.commit()
        owner = s.get(Project, m.project_id).parent_id or m.project_id
        judged = []
        from tracker.domain import slippage
        original = slippage.judge_milestone

        def counting(facts, *args):
            judged.append(facts.programme_id)
            return original(facts, *args)

        monkeypatch.setattr(slippage, "judge_milestone", counting)
        after = lights.portfolio_lights(s, as_of)
        assert judged and set(judged) == {owner}  # only the changed programme's milestones were judged again
        monkeypatch.setattr(slippage, "judge_milestone", original)
        lights._JUDGED.clear()
        lights._LIGHTS.clear()
        assert after == lights.portfolio_lights(s, as_of)  # the same lights as judging everything afresh


def test_only_the_apps_sessions_keep_the_stamp_not_every_session_in_the_process(seeded):
    start = _stamp(seeded)
    with so.Session(db.get_engine(seeded)) as plain:  # a session made outside the app, as a library user might
        plain.execute(sa.update(Project).where(Project.id == project_id(plain, YILAN)).values(description="外部"))
        plain.commit()
    assert _stamp(seeded) == start  # no listener on it: the app's events are the app's own
    assert not datastamp.is_installed(so.Session)
    assert datastamp.is_installed(seeded.extensions["tracker.sessionmaker"])

    with db.new_session(seeded) as s:  # the CLI's, the scheduler's and scripts' sessions still move it
        s.execute(sa.update(Project).where(Project.id == project_id(s, YILAN)).values(description="內部"))
        s.commit()
    assert _stamp(seeded) != start
