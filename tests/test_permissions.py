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


def test_importing_the_admin_pages_loads_no_scheduler():
    import subprocess
    import sys

    code = "import sys, tracker.web.admin; print(sorted(m for m in sys.modules if m.startswith('apscheduler')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_ledger_import_refuses_a_person_who_may_not_enter_budgets(seeded, make_user, session):
    from tracker.models import Budget
    from tracker.services.accounts import who_of
    from tracker.services.ledger_import import import_ledger

    data = "計畫名稱,年度,經資門,原預算數,追加預算數,以前年度保留數\r\n法務部矯正署宜蘭監獄擴建計畫,106,資本門,1000,0,0\r\n".encode()
    leader = session.merge(make_user("lead", "leadership"))
    officer = session.merge(make_user("officer", "budget_officer"))
    with pytest.raises(PermissionError):
        import_ledger(session, "b.csv", data, who_of(leader), user=leader)
    with pytest.raises(PermissionError):  # a person's audit identity without the person: refused, not trusted
        import_ledger(session, "b.csv", data, who_of(officer))
    with pytest.raises(PermissionError):  # someone else's account
        import_ledger(session, "b.csv", data, who_of(officer), user=leader)
    assert session.scalar(sa.select(sa.func.count()).select_from(Budget)) == 0
    assert import_ledger(session, "b.csv", data, who_of(officer), user=officer).created == 1


def test_account_and_job_services_refuse_a_person_without_the_right_on_their_own(app, seeded, make_user, session):
    """The services check the actor themselves: a view that forgot require() still could not disable an admin."""
    import pytest as _pytest

    from tracker.services import accounts, audit, jobs

    lead = make_user("lead2", "leadership")
    boss = make_user("boss2", "admin")
    target = session.get(type(boss), boss.id)
    as_lead = accounts.who_of(lead)
    for act in (lambda: accounts.disable_user(session, target, as_lead),
                lambda: accounts.reset_password(session, target, as_lead),
                lambda: accounts.set_role(session, target, "leadership", None, as_lead),
                lambda: accounts.revoke_all_tokens(session, target, as_lead),
                lambda: accounts.issue_token(session, "boss2", as_lead, 90),
                lambda: jobs.run_now(app, jobs.SLIP_SCAN, as_lead)):
        with _pytest.raises(PermissionError):
            act()
    session.rollback()
    assert session.get(type(boss), boss.id).is_active
    # The CLI at the server's console (a process, no account) and the user for his own token may.
    token, _row = accounts.issue_token(session, "lead2", as_lead, 90)
    assert token.startswith("trk_")
    assert accounts.disable_user(session, session.get(type(lead), lead.id), audit.CLI) == 1  # his token revoked
