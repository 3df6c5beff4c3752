"""Who may do what: the one place where permissions are decided."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable


class Role(str, enum.Enum):
    """The five roles of the tracker."""

    PROJECT_MANAGER = "project_manager"  #: 計畫承辦人: edits projects of their own system
    BUDGET_OFFICER = "budget_officer"  #: 主計/會計人員: month-end figures and budget alerts
    LEADERSHIP = "leadership"  #: 部長、次長、主任秘書: reads everything, writes nothing
    ADMIN = "admin"  #: 系統管理者: everything, including accounts
    REVIEWER = "reviewer"  #: 管考人員: returns or approves monthly reports (of one system, or of all)

    @property
    def label(self) -> str:
        """The role's name in Chinese."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.PROJECT_MANAGER: "計畫承辦人",
    Role.BUDGET_OFFICER: "主計人員",
    Role.LEADERSHIP: "首長（唯讀）",
    Role.ADMIN: "系統管理者",
    Role.REVIEWER: "管考人員",
}


class Action(str, enum.Enum):
    """Writes that need a permission."""

    EDIT_PROJECT = "edit_project"  #: progress, milestones, re-planning of one project
    EDIT_BUDGET = "edit_budget"  #: budgets and month-end figures
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    ENTER_KPI_ACTUAL = "enter_kpi_actual"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"  #: the reporting date
    REVIEW_REPORT = "review_report"  #: return or approve a programme's monthly report
    CLOSE_YEAR = "close_year"  #: 年度結束: carry the year's unexecuted capital budget over and make the year read-only
    IMPORT_PLAN = "import_plan"  #: load a year's 施政計畫 from its text (admins only)


@dataclass(frozen=True)
class Actor:
    """The facts about a user that permissions depend on."""

    role: Role
    system_code: str | None = None
    is_active: bool = True


def may(actor: Actor | None, action: Action, project_system_codes: Iterable[str] = ()) -> bool:
    """May this actor do this action (on a project of these systems)?"""
    if actor is None or not actor.is_active:
        return False
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.LEADERSHIP:
        return False
    if action is Action.REVIEW_REPORT:
        # a reviewer of a system reviews that system's programmes; one without a system reviews all
        return actor.role is Role.REVIEWER and (actor.system_code is None or actor.system_code in set(project_system_codes))
    if action is Action.EDIT_PROJECT:
        return (
            actor.role is Role.PROJECT_MANAGER
            and actor.system_code is not None
            and actor.system_code in set(project_system_codes)
        )
    if action in (Action.EDIT_BUDGET, Action.ENTER_KPI_ACTUAL, Action.CLOSE_YEAR):
        return actor.role is Role.BUDGET_OFFICER
    if action is Action.ACKNOWLEDGE_ALERT:
        if actor.role is Role.BUDGET_OFFICER:
            return True
        return actor.role is Role.PROJECT_MANAGER and actor.system_code in set(project_system_codes)
    return False


def sees_all_projects(actor: Actor | None) -> bool:
    """Whether lists (alerts) show every project, or only those of the actor's own system."""
    return actor is not None and actor.role is not Role.PROJECT_MANAGER


def may_review(actor: Actor | None, actor_id: int | None, author_id: int | None,
               project_system_codes: Iterable[str]) -> bool:
    """May this actor return or approve a report written by ``author_id``? Nobody reviews their own report."""
    if actor_id is not None and actor_id == author_id:
        return False
    return may(actor, Action.REVIEW_REPORT, project_system_codes)


def may_write_project(actor: Actor | None, project_system_codes: Iterable[str]) -> bool:
    """May this actor write to a project that belongs to these systems?"""
    return may(actor, Action.EDIT_PROJECT, project_system_codes)
