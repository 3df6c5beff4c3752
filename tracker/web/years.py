"""The year close page (年度結束): budget officers see each capital budget's proposed 以前年度保留數 for the next
year, edit the amounts and confirm them all at once; a closed year shows who closed it, when, and what was carried."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from tracker import db
from tracker.domain.access import Action
from tracker.services import years
from tracker.services.accounts import who_of
from tracker.web.security import require

bp = Blueprint("years", __name__)


def field_name(project_id: int) -> str:
    """The form field of a programme's amount."""
    return f"amount-{project_id}"


def _page(state: years.YearState, typed: dict[int, str] | None = None, errors: dict[int, str] | None = None,
          refusal: years.CloseRefused | None = None, status: int = 200):
    return render_template("year_close.html", state=state, typed=typed or {}, errors=errors or {},
                           refusal=refusal, field_name=field_name,
                           plain=years.plain_amount), status


def _state_or_404(year: int) -> years.YearState:
    try:
        return years.year_state(db.get_session(), year)
    except years.CloseRefused as exc:
        abort(404, description=exc.message)


@bp.route("/years/<int:year>/close", methods=["GET", "POST"])
def close(year: int):
    """GET: the proposals (or, once closed, what was carried over); POST: confirm the amounts, all or nothing."""
    require(Action.CLOSE_YEAR)
    state = _state_or_404(year)
    if request.method == "GET":
        return _page(state)
    session = db.get_session()
    typed = {p.project_id: request.form.get(field_name(p.project_id), "") for p in state.proposals
             if field_name(p.project_id) in request.form}
    try:
        result = years.close_year(session, year, typed, who_of(g.user, request.remote_addr))
    except PermissionError:
        abort(403)
    except years.CloseRefused as exc:
        session.rollback()
        state = years.year_state(session, year)
        return _page(state, typed, exc.by_project(), exc, 409 if state.is_closed else 400)
    session.commit()
    flash(_("已辦理民國 %(year)s 年度年度結束：%(next)s 年度預算新增 %(created)s 筆、更新 %(changed)s 筆，"
            "解除警示 %(resolved)s 件；%(year)s 年度的預算、執行數字與月報自此不能再變更。",
            year=year, next=year + 1, created=result.created, changed=result.changed, resolved=result.resolved),
          "success")
    return redirect(url_for("years.close", year=year))
