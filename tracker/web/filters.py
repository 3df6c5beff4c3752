"""Jinja filters: ROC dates, phase labels, status names. Formatting only; no rule is decided here."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from tracker import clock, db
from tracker.domain import audit_labels, roc
from tracker.domain.execution import round_rate
from tracker.domain.progress import slip_days
from tracker.domain.access import Action, Role, may
from tracker.domain.slippage import Light
from tracker.domain.money import format_money
from tracker.services import plan_years, reporting_date, review
from tracker.services.accounts import actor_of
from tracker.web import plan_year

STATUS_LABELS = {
    "not_started": _l("未開始"),
    "in_progress": _l("進行中"),
    "done": _l("已完成"),
    "on_hold": _l("暫停"),
    "cancelled": _l("已取消"),
}
DIRECTION_LABELS = {"at_least": _l("以上（≥）"), "at_most": _l("以下（≤）")}
#: The month's state in the reader's language (the Chinese names are domain.labels.REPORT_STATE_LABELS).
REPORT_STATE_LABELS = {"unreported": _l("未填報"), "submitted": _l("已送出"), "returned": _l("退回"),
                       "approved": _l("已核定")}

FACT_LABELS = {
    "added_capacity_persons": (_l("增加收容人數"), _l("人")),
    "site_area_m2": (_l("基地面積"), _l("平方公尺")),
    "total_floor_area_m2": (_l("總樓地板面積"), _l("平方公尺")),
    "floors_above_ground": (_l("地上樓層"), _l("層")),
    "floors_below_ground": (_l("地下樓層"), _l("層")),
    "building_coverage_pct": (_l("建蔽率"), "%"),
    "floor_area_ratio_pct": (_l("容積率"), "%"),
    "facility_count": (_l("矯正機關數"), _l("所")),
    "target_institution_count": (_l("建置機關數"), _l("所")),
}


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, Decimal):
        value = value.normalize()
        if value == value.to_integral():
            value = value.quantize(Decimal(1))
    return f"{value:,}"


def _percent(value) -> str:
    """A rounded rate as 「87.50%」, or 「—」 when there is none."""
    return "—" if value is None else f"{value}%"


#: The lights and roles in the reader's language (the domain keeps them in Chinese for the data and the PDF).
LIGHT_NAMES = {Light.NONE: "—", Light.GREEN: _l("綠燈"), Light.YELLOW: _l("黃燈"), Light.RED: _l("紅燈")}
ROLE_NAMES = {Role.PROJECT_MANAGER: _l("計畫承辦人"), Role.BUDGET_OFFICER: _l("主計人員"),
              Role.LEADERSHIP: _l("首長（唯讀）"), Role.ADMIN: _l("系統管理者"), Role.REVIEWER: _l("管考人員")}
ALERT_KIND_NAMES = {"LOW_EXECUTION": _l("分配預算執行率偏低"), "BELOW_TARGET": _l("預估未達執行率目標"),
                    "OVERDUE": _l("逾期未完成"), "LAGGING": _l("進度落後"), "FORECAST_SLIP": _l("預估完成日延後"),
                    "NOT_REPORTED": _l("未填報進度"), "BACK_LOADED": _l("進度後段集中")}


def init_app(app: Flask) -> None:
    """Register the filters and the template globals."""
    app.jinja_env.filters.update(
        roc_date=lambda d: roc.format_roc_date(date.fromisoformat(d) if isinstance(d, str) else d),
        roc_month=roc.format_roc_month,
        roc_span=roc.format_roc_span,
        status_label=lambda s: STATUS_LABELS.get(s, s),
        report_state=lambda s: REPORT_STATE_LABELS.get(s or "unreported", s),
        direction_label=lambda d: DIRECTION_LABELS.get(d, d),
        role_label=lambda r: ROLE_NAMES[Role(r)] if r in Role._value2member_map_ else r,
        light_label=lambda light: LIGHT_NAMES.get(light, getattr(light, "label", light)),
        number=_number,
        money=format_money,
        percent=_percent,
        rate2=round_rate,
        slip_days=lambda m: slip_days(m.baseline_finish_on, m.planned_finish_on),
        phase=lambda p: "—" if p.phase_index is None or p.phase_total is None else _l(
            "第 %(index)s 年／共 %(total)s 年", index=p.phase_index, total=p.phase_total),
        # history in people's words (audit log, revision comparison): the labels of tracker/domain/audit_labels.py
        audit_field=lambda key, entity_type=None: audit_labels.field_label(entity_type, key),
        audit_value=lambda value, key: audit_labels.format_value(key, value, ZoneInfo(app.config["TIMEZONE"])),
        local_time=lambda moment: "—" if moment is None else audit_labels.local_time_text(
            moment, ZoneInfo(app.config["TIMEZONE"])),
    )

    @app.context_processor
    def _globals():
        def url_with(**changes) -> str:
            """The current query string with some parameters changed (for paging links)."""
            args = request.args.to_dict()
            args.update(changes)
            return "?" + urlencode({k: v for k, v in args.items() if v not in (None, "")})

        def may_(action: str, systems=()) -> bool:
            """Whether the reader may do an action (on a project of these systems: codes or System rows)."""
            codes = [getattr(system, "code", system) for system in systems]
            return may(actor_of(g.get("user")), Action(action), codes)

        def queue_counts() -> dict[str, int]:
            """The header's counts of the reader's queues (待審, 被退回); empty for roles without one, and on a
            page drawn for a database that fails (an error page must not fail in its header)."""
            user = g.get("user")
            if user is None:
                return {}
            try:
                return review.queue_counts(db.get_session(), user)
            except SQLAlchemyError:
                db.get_session().rollback()
                return {}

        def reporting_day() -> date:
            """The reporting date (評核基準日) the pages judge as of (today, if the database cannot say)."""
            try:
                return reporting_date.current(db.get_session(), app.config)
            except SQLAlchemyError:
                db.get_session().rollback()
                return clock.today(app.config)

        def year_switch() -> dict:
            """The header's year switcher: the loaded plan years, the one this page shows, and which are closed
            (nothing when the database cannot say, so an error page still draws)."""
            if "year_switch" in g:  # the header, the nav and the footer ask once between them
                return g.year_switch
            try:
                session = db.get_session()
                years = plan_years.loaded_years(session)
                shown = plan_year.page_year() if request.args.get("year") else plan_year.default_year()
                g.year_switch = {"years": years, "shown": shown, "closed": plan_years.closed_years(session)}
            except (SQLAlchemyError, HTTPException):
                db.get_session().rollback()
                g.year_switch = {"years": [], "shown": None, "closed": set()}
            return g.year_switch

        return {"current_user": g.get("user"), "fact_labels": FACT_LABELS, "url_with": url_with, "may": may_,
                "queue_counts": queue_counts, "reporting_day": reporting_day, "year_switch": year_switch}
