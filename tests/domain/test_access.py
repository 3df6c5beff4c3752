"""The one permission rule: who may write to which project."""
from tracker.domain.access import Action, Actor, Role, may, may_write_project


def test_project_manager_writes_only_own_system():
    pm = Actor(Role.PROJECT_MANAGER, "prosecution")
    assert may_write_project(pm, ["prosecution"])
    assert may_write_project(pm, ["prosecution", "enforcement"])  # a joint project
    assert not may_write_project(pm, ["corrections"])


def test_leadership_and_budget_officer_do_not_write_projects():
    assert not may_write_project(Actor(Role.LEADERSHIP), ["prosecution"])
    assert not may_write_project(Actor(Role.BUDGET_OFFICER), ["prosecution"])
    assert may(Actor(Role.BUDGET_OFFICER), Action.EDIT_BUDGET)
    assert not may(Actor(Role.LEADERSHIP), Action.EDIT_BUDGET)


def test_admin_writes_everything_and_inactive_nothing():
    assert may_write_project(Actor(Role.ADMIN), ["corrections"])
    assert may(Actor(Role.ADMIN), Action.MANAGE_USERS)
    assert not may_write_project(Actor(Role.ADMIN, is_active=False), ["corrections"])
    assert not may_write_project(None, ["corrections"])


def test_project_manager_without_system_writes_nothing():
    assert not may_write_project(Actor(Role.PROJECT_MANAGER, None), ["prosecution"])
