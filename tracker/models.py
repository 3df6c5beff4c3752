"""Typed SQLAlchemy 2 tables of the tracker."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

#: Names for constraints so Alembic can change them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CATEGORIES = ("公共建設", "科技發展", "社會發展", "其它")
MILESTONE_STATUSES = ("not_started", "in_progress", "done", "on_hold", "cancelled")
ROLES = ("project_manager", "budget_officer", "leadership", "admin", "reviewer")
DIRECTIONS = ("at_least", "at_most")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back without their zone, which is UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class Base(so.DeclarativeBase):
    """Declarative base with a naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: sa.DateTime(timezone=True),
        dict[str, Any]: sa.JSON,
        list[str]: sa.JSON,
    }


class System(Base):
    """One of the ministry's systems (系統): 檢察, 調查, 矯正, 行政執行, 廉政, 部本部."""

    __tablename__ = "systems"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    sort_order: so.Mapped[int] = so.mapped_column(default=0)


project_systems = sa.Table(
    "project_systems",
    Base.metadata,
    sa.Column("project_id", sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("system_id", sa.ForeignKey("systems.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class WorkPlan(Base):
    """A work plan (工作計畫), the budget programme a project is listed under."""

    __tablename__ = "work_plans"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    sort_order: so.Mapped[int] = so.mapped_column(default=0)

    projects: so.WriteOnlyMapped[Project] = so.relationship(back_populates="work_plan")


class Kpi(Base):
    """A key performance indicator (關鍵績效指標) of part 貳 of the plan."""

    __tablename__ = "kpis"
    __table_args__ = (sa.CheckConstraint("direction IN ('at_least', 'at_most')", name="direction"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: 一-1 … 九-2: goal numeral and number within the goal, in the latest plan that lists the KPI (each year's
    #: numbering is in kpi_targets; a KPI no later plan lists gives its number up as 「~id」).
    code: so.Mapped[str] = so.mapped_column(sa.String(8), unique=True)
    goal_no: so.Mapped[int]
    #: 關鍵策略目標
    goal: so.Mapped[str] = so.mapped_column(sa.String(200))
    no: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    #: 衡量標準
    measure: so.Mapped[str] = so.mapped_column(sa.Text)
    #: 年度目標值, as a number and as the plan writes it (「11% 以下」).
    target_value: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 4))
    target_text: so.Mapped[str] = so.mapped_column(sa.String(40))
    unit: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: at_least (3,800 人) or at_most (52 日, 11% 以下).
    direction: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: 評估體制 and 評估方式
    evaluation_system: so.Mapped[int | None]
    evaluation_method: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    #: 與中長程個案計畫關聯
    related_plan_categories: so.Mapped[list[str]] = so.mapped_column(default=list)
    #: Other spellings part 參 uses for this KPI.
    aliases: so.Mapped[list[str]] = so.mapped_column(default=list)


class Plan(Base):
    """One ROC year's 施政計畫 (施政目標與重點): its title and goals, when it was loaded, and when its year closed."""

    __tablename__ = "plans"

    year_roc: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: The file it was read from and its SHA-256 (None for the JSON seed or data migrated from before plan years).
    source_name: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: 年度施政目標 (part 壹): [{"no": 1, "name": …, "items": […]}]
    goals: so.Mapped[list[Any]] = so.mapped_column(sa.JSON, default=list)
    loaded_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    loaded_by: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    #: Set when the year is closed (年度結束): its figures, budgets and reports are read-only from then on.
    closed_at: so.Mapped[datetime | None]
    closed_by: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    @property
    def is_closed(self) -> bool:
        """Whether the year has been closed."""
        return self.closed_at is not None


class KpiTarget(Base):
    """A KPI as one year's plan states it: that year's number, measure and 年度目標值."""

    __tablename__ = "kpi_targets"
    __table_args__ = (sa.CheckConstraint("direction IN ('at_least', 'at_most')", name="direction"),
                      sa.Index("ix_kpi_targets_year_code", "year_roc", "code"))

    kpi_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("kpis.id", ondelete="CASCADE"), primary_key=True)
    year_roc: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plans.year_roc", ondelete="CASCADE"), primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(8))
    goal_no: so.Mapped[int]
    goal: so.Mapped[str] = so.mapped_column(sa.String(200))
    no: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    measure: so.Mapped[str] = so.mapped_column(sa.Text)
    target_value: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 4))
    target_text: so.Mapped[str] = so.mapped_column(sa.String(40))
    unit: so.Mapped[str] = so.mapped_column(sa.String(16))
    direction: so.Mapped[str] = so.mapped_column(sa.String(8))
    evaluation_system: so.Mapped[int | None]
    evaluation_method: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    related_plan_categories: so.Mapped[list[str]] = so.mapped_column(default=list)

    kpi: so.Mapped[Kpi] = so.relationship(lazy="joined")


class PlanEntry(Base):
    """A programme (or sub-plan) as one year's plan lists it: that year's 序號, name, phase, category and links.

    The programme itself (Project) keeps one identity across years; its milestones, reports, budgets and
    month-end figures hang under it whatever the year.
    """

    __tablename__ = "plan_entries"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "year_roc", name="uq_plan_entries_project_year"),
        sa.Index("ix_plan_entries_year_seq", "year_roc", "seq"),
        sa.CheckConstraint(
            "(phase_index IS NULL AND phase_total IS NULL) OR (phase_index >= 1 AND phase_total >= phase_index)",
            name="phase"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    year_roc: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plans.year_roc", ondelete="CASCADE"))
    seq: so.Mapped[int]
    code: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    name: so.Mapped[str] = so.mapped_column(sa.String(300))
    name_as_written: so.Mapped[str] = so.mapped_column(sa.String(300))
    work_plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("work_plans.id", ondelete="RESTRICT"))
    category: so.Mapped[str] = so.mapped_column(sa.String(8))
    phase_index: so.Mapped[int | None]
    phase_total: so.Mapped[int | None]
    sub_code: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    agency: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    content: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    project: so.Mapped[Project] = so.relationship()
    work_plan: so.Mapped[WorkPlan] = so.relationship(lazy="joined")
    kpi_links: so.Mapped[list[PlanEntryKpi]] = so.relationship(
        order_by="PlanEntryKpi.position", cascade="all, delete-orphan")
    milestone_links: so.Mapped[list[PlanEntryMilestone]] = so.relationship(
        order_by="PlanEntryMilestone.position", cascade="all, delete-orphan")


class PlanEntryKpi(Base):
    """A year's entry's link to a KPI, with the KPI's name as that year's plan writes it."""

    __tablename__ = "plan_entry_kpis"

    entry_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plan_entries.id", ondelete="CASCADE"), primary_key=True)
    kpi_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("kpis.id", ondelete="RESTRICT"), primary_key=True, index=True)
    written_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    position: so.Mapped[int] = so.mapped_column(default=0)

    kpi: so.Mapped[Kpi] = so.relationship(lazy="joined")


class PlanEntryMilestone(Base):
    """A dated step a year's plan lists for the entry; a step restated next year stays one milestone."""

    __tablename__ = "plan_entry_milestones"

    entry_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plan_entries.id", ondelete="CASCADE"), primary_key=True)
    milestone_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("milestones.id", ondelete="CASCADE"),
                                                    primary_key=True, index=True)
    position: so.Mapped[int] = so.mapped_column(default=0)

    milestone: so.Mapped[Milestone] = so.relationship()


class ProjectKpi(Base):
    """A project's link to a KPI, with the KPI's name as the plan writes it there."""

    __tablename__ = "project_kpis"

    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    kpi_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("kpis.id", ondelete="RESTRICT"), primary_key=True, index=True)
    written_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    position: so.Mapped[int] = so.mapped_column(default=0)

    kpi: so.Mapped[Kpi] = so.relationship(lazy="joined")
    project: so.Mapped[Project] = so.relationship(back_populates="kpi_links")


class Project(Base):
    """A key programme (重要計畫項目) or one of its sub-plans (子計畫, parent set), one identity across years.

    Each year's plan lists it as a PlanEntry; the columns here (seq, code, name, category, phase, work plan,
    content, KPI links) are those of its latest entry, kept so by tracker.services.plan_years.
    """

    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint(
            "category IN ('公共建設', '科技發展', '社會發展', '其它')", name="category"
        ),
        sa.CheckConstraint(
            "(phase_index IS NULL AND phase_total IS NULL) OR "
            "(phase_index >= 1 AND phase_total >= phase_index)",
            name="phase",
        ),
        sa.CheckConstraint("first_year_roc <= last_year_roc", name="years"),
        sa.Index("ix_projects_parent_seq", "parent_id", "seq"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Stable key from the seed (106-07, 106-49-計畫3) so loading twice changes nothing.
    seed_key: so.Mapped[str | None] = so.mapped_column(sa.String(40), unique=True)
    #: Order in the plan (sub-plans: order within the parent).
    seq: so.Mapped[int]
    #: The plan code users see and import files name: a programme's 序號 in the plan (48), a sub-plan its
    #: programme's and its own number (49-3 for 計畫3). Never the internal id.
    code: so.Mapped[str | None] = so.mapped_column(sa.String(16), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(300), index=True)
    name_as_written: so.Mapped[str] = so.mapped_column(sa.String(300))
    work_plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("work_plans.id", ondelete="RESTRICT"), index=True)
    #: 計畫類別
    category: so.Mapped[str] = so.mapped_column(sa.String(8), index=True)
    #: Phase fraction (1/3): this year's index and the plan's length in years.
    phase_index: so.Mapped[int | None]
    phase_total: so.Mapped[int | None]
    first_year_roc: so.Mapped[int] = so.mapped_column(index=True)
    last_year_roc: so.Mapped[int] = so.mapped_column(index=True)
    parent_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    #: 計畫1 … 計畫9 for a sub-plan.
    sub_code: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    #: The agency a sub-plan names (臺北地檢署).
    agency: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: 實施內容 as the plan writes it.
    content: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Facts the plan states: added capacity, floor area, staged builds, history.
    facts: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    #: 巨額採購: schedule lag is judged at 10 points instead of 20.
    is_very_large: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    work_plan: so.Mapped[WorkPlan] = so.relationship(back_populates="projects", lazy="joined")
    systems: so.Mapped[list[System]] = so.relationship(secondary=project_systems, order_by=System.sort_order)
    kpi_links: so.Mapped[list[ProjectKpi]] = so.relationship(
        back_populates="project", order_by=ProjectKpi.position, cascade="all, delete-orphan"
    )
    parent: so.Mapped[Project | None] = so.relationship(remote_side=[id], back_populates="sub_plans")
    sub_plans: so.Mapped[list[Project]] = so.relationship(back_populates="parent", order_by="Project.seq")
    milestones: so.Mapped[list[Milestone]] = so.relationship(
        back_populates="project", order_by="Milestone.seq", cascade="all, delete-orphan"
    )


class Milestone(Base):
    """A dated step of a project, with its plan, baseline and actual progress."""

    __tablename__ = "milestones"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'done', 'on_hold', 'cancelled')", name="status"
        ),
        sa.CheckConstraint("percent_complete >= 0 AND percent_complete <= 100", name="percent"),
        sa.CheckConstraint("planned_finish_on >= planned_start_on", name="planned_span"),
        sa.CheckConstraint("baseline_finish_on >= baseline_start_on", name="baseline_span"),
        sa.UniqueConstraint("project_id", "seq", name="uq_milestones_project_seq"),
        sa.Index("ix_milestones_planned_finish", "planned_finish_on"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    seq: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.Text)
    #: The step as the plan writes it, date included.
    source_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    planned_start_on: so.Mapped[date]
    planned_finish_on: so.Mapped[date]
    #: The plan's dates as first loaded; re-planning never moves them.
    baseline_start_on: so.Mapped[date]
    baseline_finish_on: so.Mapped[date]
    actual_start_on: so.Mapped[date | None]
    actual_finish_on: so.Mapped[date | None]
    #: Why the planned dates last moved away from the baseline (re-planning).
    replan_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="not_started", index=True)
    percent_complete: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    #: Optimistic lock: every update raises it; a write on an older version is refused.
    version: so.Mapped[int] = so.mapped_column(default=1)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    project: so.Mapped[Project] = so.relationship(back_populates="milestones")

    __mapper_args__ = {"version_id_col": version}


class User(Base):
    """An account: one role, and for project managers one system."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('project_manager', 'budget_officer', 'leadership', 'admin', 'reviewer')", name="role"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    system_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("systems.id", ondelete="RESTRICT"))
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    #: Where the daily digest and reminders go (optional).
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: Set for a one-time password: the user must choose a new one at first login.
    must_change_password: so.Mapped[bool] = so.mapped_column(default=False)
    #: Raised when the password changes, so sessions signed for the old one end.
    session_epoch: so.Mapped[int] = so.mapped_column(default=1)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_login_at: so.Mapped[datetime | None]
    #: When an admin disabled the account (is_active is then false).
    disabled_at: so.Mapped[datetime | None]
    #: Failed logins before this moment no longer slow this account (an admin's unlock).
    login_unlocked_at: so.Mapped[datetime | None]

    system: so.Mapped[System | None] = so.relationship(lazy="joined")


class ApiToken(Base):
    """An API token; only its SHA-256 hash is kept."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]
    #: The token stops working at this moment (API_TOKEN_LIFETIME_DAYS after it was issued).
    expires_at: so.Mapped[datetime | None]
    #: What the token is for, as its owner described it (optional).
    label: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    user: so.Mapped[User] = so.relationship(lazy="joined")


class LoginAttempt(Base):
    """One login attempt, kept to throttle guessing across every web worker."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_username_at", "username", "at"),
        sa.Index("ix_login_attempts_remote_addr_at", "remote_addr", "at"),
        sa.Index("ix_login_attempts_user_at", "user_id", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64))
    remote_addr: so.Mapped[str] = so.mapped_column(sa.String(64))
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    succeeded: so.Mapped[bool]
    #: The account the name belongs to; None for a name no account has (such failures never count
    #: against the client's address, so guessing names cannot slow real users).
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class UserSession(Base):
    """A signed-in browser session, kept on the server so a logout or an admin's action ends it everywhere."""

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: SHA-256 of the random session id held in the (signed) cookie.
    sid_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: Set at logout (or when an admin ends the user's sessions); the cookie is worthless from then on.
    ended_at: so.Mapped[datetime | None]
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class AuditEntry(Base):
    """Who did what, when: one row for every write and every login."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity_type", "entity_id"),
                      sa.Index("ix_audit_log_user_at", "user_id", "at"))

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The user's name, or the process (cli, seed, scheduler) when no user acted.
    actor: so.Mapped[str] = so.mapped_column(sa.String(64))
    action: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    entity_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: {field: [old, new]} for updates; the new values for creates.
    changes: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64))


BUDGET_KINDS = ("capital", "current")
_THOUSAND = Decimal(1000)


class Money(sa.types.TypeDecorator):
    """NT$ thousands (千元) as Decimal in Python, stored as whole NT$ in a BIGINT.

    Integers keep SQL sums exact on SQLite too (it has no decimal type); 0.001 千元 is NT$1, so
    nothing an official table can hold is lost.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        dollars = Decimal(value) * _THOUSAND
        if dollars != dollars.to_integral_value():
            raise ValueError(f"{value} 千元 is not a whole number of NT$")
        return int(dollars)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return (Decimal(int(value)) / _THOUSAND).quantize(Decimal("0.001"))


class Budget(Base):
    """A project's budget for one ROC year and kind (資本門/經常門)."""

    __tablename__ = "budgets"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "year_roc", "kind", "is_synthetic", name="uq_budgets_project_year_kind"),
        sa.CheckConstraint("kind IN ('capital', 'current')", name="kind"),
        sa.CheckConstraint("original >= 0 AND supplementary >= 0 AND carried_over >= 0", name="amounts"),
        sa.Index("ix_budgets_year_kind", "year_roc", "kind", "is_synthetic"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    year_roc: so.Mapped[int]
    #: capital (資本門) or current (經常門)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: 原預算數
    original: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: 追加預算數
    supplementary: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: 以前年度保留數
    carried_over: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: Demo figures (`tracker demo`); never shown together with imported ones.
    is_synthetic: so.Mapped[bool] = so.mapped_column(default=False)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    project: so.Mapped[Project] = so.relationship()

    @property
    def available(self) -> Decimal:
        """可支用預算數 (domain.execution.available_budget)."""
        from tracker.domain.execution import available_budget

        return available_budget(self.original, self.supplementary, self.carried_over)


class MonthEnd(Base):
    """Month-end accounting figures of a project, cumulative from January as the report gives them."""

    __tablename__ = "month_end_figures"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "year_roc", "kind", "month", "is_synthetic", name="uq_month_end_figures_key"),
        sa.CheckConstraint("kind IN ('capital', 'current')", name="kind"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        sa.CheckConstraint("allocated >= 0 AND paid >= 0 AND payables >= 0 AND savings >= 0", name="amounts"),
        sa.Index("ix_month_end_year_kind_month", "year_roc", "kind", "is_synthetic", "month"),
        #: Each project's latest month of a year in one pass (execution report, PostgreSQL).
        sa.Index("ix_month_end_year_kind_project", "year_roc", "kind", "is_synthetic", "project_id", "month"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    year_roc: so.Mapped[int]
    month: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: 累計分配數
    allocated: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: 累計實支數
    paid: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: 應付未付數: the balance at the month's end, not a running total
    payables: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    #: 累計賸餘數
    savings: so.Mapped[Decimal] = so.mapped_column(Money(), default=Decimal(0))
    is_synthetic: so.Mapped[bool] = so.mapped_column(default=False)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    project: so.Mapped[Project] = so.relationship()


ALERT_STATUSES = ("open", "acknowledged", "resolved")


class Alert(Base):
    """A condition found by a scan; one unresolved alert per kind, project and milestone."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
        sa.Index("ix_alerts_status_kind", "status", "kind"),
        sa.Index("ix_alerts_project", "project_id"),
        # the alerts page, worst first: read in index order, only the unresolved
        sa.Index("ix_alerts_unresolved_order", "severity_rank", "opened_at", "id",
                 sqlite_where=sa.text("status != 'resolved'"), postgresql_where=sa.text("status != 'resolved'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: LOW_EXECUTION, BELOW_TARGET (budget); OVERDUE, LAGGING, … (schedule)
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    severity: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: 2 critical, 1 warning, 0 info: the alerts page lists the highest first
    severity_rank: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open")
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    milestone_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("milestones.id", ondelete="CASCADE"))
    #: kind:project:milestone while unresolved, NULL once resolved: the database keeps one open alert per key.
    open_key: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    #: The figures behind the alert at the last scan.
    details: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    #: A digest of severity, message and details: a rescan compares it instead of reading every alert's details.
    digest: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    #: The as-of date of the scan that last confirmed the condition.
    as_of: so.Mapped[date]
    is_synthetic: so.Mapped[bool] = so.mapped_column(default=False)
    opened_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: so.Mapped[datetime | None]
    acknowledged_at: so.Mapped[datetime | None]
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledgement: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: Why it was resolved when no scan did it (年度結束: the year was closed).
    resolved_reason: so.Mapped[str | None] = so.mapped_column(sa.String(40))

    project: so.Mapped[Project] = so.relationship()
    acknowledged_by: so.Mapped[User | None] = so.relationship()


class ProgressReport(Base):
    """A project's monthly progress report as submitted; a correction is a new revision, never an edit."""

    __tablename__ = "progress_reports"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "year_roc", "month", "revision", name="uq_progress_reports_revision"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        sa.CheckConstraint("planned_percent BETWEEN 0 AND 100 AND actual_percent BETWEEN 0 AND 100", name="percent"),
        sa.Index("ix_progress_reports_period", "year_roc", "month", "project_id"),
        sa.CheckConstraint("state IN ('submitted', 'returned', 'approved')", name="state"),
        sa.Index("ix_progress_reports_state", "state", "year_roc", "month"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    year_roc: so.Mapped[int]
    month: so.Mapped[int]
    revision: so.Mapped[int] = so.mapped_column(default=1)
    #: 預定進度 and 實際進度 (cumulative %) of the whole project at the month's end.
    #: 預定進度 comes from the plan (curve or milestone dates), never typed; None when the plan gives none.
    planned_percent: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(5, 2))
    actual_percent: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2))
    #: 落後原因 and 因應對策, required when the project is behind.
    delay_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    remedy: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: Every milestone as reported: {id: {status, percent_complete, actual_start, actual_finish, ...}}.
    milestones: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    submitted_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: submitted (已送出), returned (退回, with the reviewer's comment) or approved (已核定, frozen).
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default="submitted")
    #: Why a cumulative percent fell, or why an approved month is corrected.
    correction_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    reviewer_comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: so.Mapped[datetime | None]

    submitted_by: so.Mapped[User | None] = so.relationship(foreign_keys=[submitted_by_id])
    reviewed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[reviewed_by_id])


class ReportAttachment(Base):
    """A photo (施工照片) or document on a month's report, kept in the database so every web server sees it.

    It belongs to the month and is shown on the revision it came with and every later one.
    """

    __tablename__ = "report_attachments"
    __table_args__ = (
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        sa.Index("ix_report_attachments_month", "project_id", "year_roc", "month"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    year_roc: so.Mapped[int]
    month: so.Mapped[int]
    #: The revision of the month's report it was added with.
    revision: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: image/jpeg, image/png or application/pdf, from the content.
    content_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    size: so.Mapped[int]
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    #: A small JPEG of a photo (None for a PDF).
    thumbnail: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    uploaded_by: so.Mapped[User | None] = so.relationship()


class SiteSetting(Base):
    """A setting an admin changes at run time (the reporting date), shared by every process."""

    __tablename__ = "site_settings"

    key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    value: so.Mapped[str] = so.mapped_column(sa.Text)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class PlannedCurve(Base):
    """A project's planned cumulative progress (預定進度) at the end of a month, when one is entered."""

    __tablename__ = "planned_curve_points"
    __table_args__ = (
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        sa.CheckConstraint("planned_percent BETWEEN 0 AND 100", name="percent"),
    )

    project_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year_roc: so.Mapped[int] = so.mapped_column(primary_key=True)
    month: so.Mapped[int] = so.mapped_column(primary_key=True)
    planned_percent: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2))


class JobRun(Base):
    """One run of a scheduled job: when, what it changed, and the error if it failed."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.Index("ix_job_runs_job_started", "job_id", "started_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    job_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[datetime | None]
    #: running, succeeded, failed, or interrupted (its process died before it finished)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="running")
    #: Who started the run: scheduler, cli, or the admin's name (「立即執行」).
    started_by: so.Mapped[str] = so.mapped_column(sa.String(64), default="scheduler")
    #: The process that ran it, so a run left running by a dead process can be told apart.
    host: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    pid: so.Mapped[int | None]
    opened: so.Mapped[int] = so.mapped_column(default=0)
    updated: so.Mapped[int] = so.mapped_column(default=0)
    resolved: so.Mapped[int] = so.mapped_column(default=0)
    #: What else the run did (messages sent, the as-of date).
    details: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)


class KpiActual(Base):
    """A KPI's actual value for one ROC year, entered by a budget officer or an admin."""

    __tablename__ = "kpi_actuals"

    kpi_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("kpis.id", ondelete="CASCADE"), primary_key=True)
    year_roc: so.Mapped[int] = so.mapped_column(primary_key=True)
    value: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 4))
    entered_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    entered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    entered_by: so.Mapped[User | None] = so.relationship()


class DataStamp(Base):
    """A value changed by every commit that changes what the pages show: caches are keyed by it.

    One row (id 1). Every process (web workers, the scheduler, the CLI) changes it in the same
    transaction as its write, so a cached page is never older than the data it was built from.
    """

    __tablename__ = "data_stamps"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


class ScanState(Base):
    """What a scan last judged: its date and settings, and a fingerprint of each programme's inputs.

    A later scan on the same date with the same settings re-judges only the programmes whose
    fingerprint changed (incremental); a new date or new settings judge everything again.
    """

    __tablename__ = "scan_states"

    scan: so.Mapped[str] = so.mapped_column(sa.String(24), primary_key=True)
    #: The programme (or, for the execution scan, the project) the fingerprint covers; 0 holds the scan's own row.
    project_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    #: For row 0: the as-of date and settings; for the others: a digest of the inputs.
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(200))


class LedgerImport(Base):
    """One import of a budgets or month-end file: who, when, which file, what it changed; undone or not."""

    __tablename__ = "ledger_imports"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('budgets', 'month_end')", name="kind"),
        sa.Index("ix_ledger_imports_at", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The person's name, or the process (cli).
    actor: so.Mapped[str] = so.mapped_column(sa.String(64))
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: budgets or month_end
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    rows: so.Mapped[int]
    created: so.Mapped[int]
    replaced: so.Mapped[int]
    unchanged: so.Mapped[int]
    #: The file said it corrects earlier figures (its 更正 column).
    is_correction: so.Mapped[bool] = so.mapped_column(default=False)
    undone_at: so.Mapped[datetime | None]
    undone_by: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    changes: so.Mapped[list[LedgerImportChange]] = so.relationship(
        back_populates="ledger_import", cascade="all, delete-orphan", order_by="LedgerImportChange.id")


class LedgerImportChange(Base):
    """One figure row an import created or replaced, with its values before (None: created) and after."""

    __tablename__ = "ledger_import_changes"
    __table_args__ = (
        sa.CheckConstraint("table_name IN ('budgets', 'month_end_figures')", name="table"),
        sa.Index("ix_ledger_import_changes_import", "import_id"),
        sa.Index("ix_ledger_import_changes_record", "table_name", "record_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    import_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("ledger_imports.id", ondelete="CASCADE"))
    #: budgets or month_end_figures
    table_name: so.Mapped[str] = so.mapped_column(sa.String(32))
    record_id: so.Mapped[int | None]
    #: The row's key: project_id, year_roc, kind (and month).
    key: so.Mapped[dict[str, Any]]
    #: Amounts before ({field: "1234.5"}), None when the import created the row.
    before: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    after: so.Mapped[dict[str, Any]]

    ledger_import: so.Mapped[LedgerImport] = so.relationship(back_populates="changes")


class LedgerPreview(Base):
    """An uploaded file waiting for the officer's confirmation: shown as a preview, written only when confirmed,
    and only if the figures it would change are still as they were previewed (``fingerprint``)."""

    __tablename__ = "ledger_previews"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Random; the confirmation form carries it.
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    actor: so.Mapped[str] = so.mapped_column(sa.String(64))
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    #: A digest of the stored figures the file would change, as they were at the preview.
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class PlanPreview(Base):
    """A plan text an admin uploaded, waiting for confirmation: the preview shown, written only when confirmed."""

    __tablename__ = "plan_previews"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Random; the confirmation form carries it.
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    year_roc: so.Mapped[int]
    is_replace: so.Mapped[bool] = so.mapped_column(default=False)
    text: so.Mapped[str] = so.mapped_column(sa.Text, deferred=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
