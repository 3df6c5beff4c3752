"""The one permission check on real accounts: may this user write to this project?"""
from __future__ import annotations

import sqlalchemy as sa
import pytest

from tracker.models import Project
from tracker.services import portfolio
from tracker.web.security import may_edit

TAICHUNG = "%臺中分署擴遷建辦公廳舍計畫案"  # joint: 檢察 and 行政執行
YILAN = "法務部矯正署宜蘭監獄擴建計畫"   # 矯正


def project_like(session, pattern: str) -> Project:
    project_id = session.scalar(sa.select(Project.id).where(Project.name.like(pattern)))
    return portfolio.get_project(session, project_id)


@pytest.mark.parametrize("role, system, taichung, yilan", [
    ("project_manager", "檢察", True, False),
    ("project_manager", "enforcement", True, False),   # code works as well as the name; joint project
    ("project_manager", "矯正", False, True),
    ("project_manager", "廉政", False, False),
    ("leadership", None, False, False),
    ("budget_officer", None, False, False),
    ("admin", None, True, True),
])
def test_may_write_project(seeded, make_user, session, role, system, taichung, yilan):
    user = make_user("u1", role, system)
    user = session.merge(user)
    assert may_edit(user, project_like(session, TAICHUNG)) is taichung
    assert may_edit(user, project_like(session, YILAN)) is yilan


def test_deactivated_manager_may_not_write(seeded, make_user, session):
    user = session.merge(make_user("u1", "project_manager", "矯正"))
    user.is_active = False
    assert not may_edit(user, project_like(session, YILAN))


def test_project_page_tells_the_user(seeded, make_user, auth, client, session):
    make_user("pm", "project_manager", "矯正")
    auth.login("pm")
    yilan = project_like(session, YILAN)
    taichung = project_like(session, TAICHUNG)
    assert "您可更新此計畫" in client.get(f"/projects/{yilan.id}").get_data(as_text=True)
    assert "唯讀" in client.get(f"/projects/{taichung.id}").get_data(as_text=True)
