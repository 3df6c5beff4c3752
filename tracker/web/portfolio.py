"""The portfolio page: every programme grouped by system and work plan, with filters, search and lights."""
from __future__ import annotations

import dataclasses
from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from tracker import db
from tracker.domain.roc import RocDateError, parse_date
from tracker.domain.slippage import Light
from tracker.models import CATEGORIES
from tracker.services import datastamp, lights, plan_years, portfolio, reporting_date
from tracker.services.cache import StampedCache
from tracker.web import plan_year
from tracker.web.params import ParamError, page_or_first, roc_year_param

bp = Blueprint("portfolio", __name__)
#: The portfolio's body as rendered, per filter, page, date and language, valid for one data stamp.
_BODIES = StampedCache(size=256)


def as_of_param() -> date:
    """The date lights are judged on: ?as_of= (ROC or ISO), else the reporting date (評核基準日)."""
    text = request.args.get("as_of")
    if not text:
        return reporting_date.current(db.get_session(), current_app.config)
    try:
        return parse_date(text)
    except RocDateError as exc:
        abort(400, description=f"as_of：{exc}")


def portfolio_filter(args) -> portfolio.PortfolioFilter:
    """The filter from query arguments, typed; a bad value is a FilterError naming the parameter."""
    year_text = (args.get("year") or "").strip()
    try:
        year = roc_year_param({"year": year_text})
    except ParamError:
        raise portfolio.FilterError("year", f"年度須為民國年（例如 106），而非「{year_text}」") from None
    return portfolio.PortfolioFilter.of(system=args.get("system"), category=args.get("category"), year=year,
                                        q=args.get("q"))


@bp.route("/")
def index():
    """The portfolio grouped by system and work plan, with filters and search.

    The body is the same for every reader, so it is built once per data stamp and served from
    the cache until someone changes the data (see services.datastamp).
    """
    session = db.get_session()
    as_of = as_of_param()
    page = page_or_first(request.args)
    key = portfolio.body_cache_key(session, request.args.items(multi=True), as_of, str(get_locale()))
    try:
        body = _BODIES.get_or_build(datastamp.current(session), key, lambda: _body(session, as_of, page))
    except portfolio.FilterError as exc:
        return render_template("portfolio.html", body=_body(session, as_of, page, exc)), 400
    return render_template("portfolio.html", body=body)


def _body(session, as_of: date, page_number: int, error: portfolio.FilterError | None = None) -> Markup:
    """The portfolio's filters, count, grouped table and pager, as HTML (or the filter's error)."""
    flt = portfolio.PortfolioFilter() if error else portfolio_filter(request.args)
    if flt.year is None:  # the year's plan: the reporting date's year unless another is asked for
        flt = dataclasses.replace(flt, year=plan_year.default_year())
    page = None if error else portfolio.portfolio_page(session, flt, page_number, current_app.config["PAGE_SIZE"])
    judged = lights.portfolio_lights(session, as_of, lights.slip_thresholds_from(current_app.config))
    if page is not None:  # the groups roll up only the programmes the filter lists
        judged = lights.rolled_up(judged.programmes, page.members)
    return Markup(render_template("_portfolio_body.html", page=page, flt=flt, systems=portfolio.list_systems(session),
                                  categories=CATEGORIES, filter_error=error, lights=judged, as_of=as_of,
                                  no_light=Light.NONE, year_loaded=flt.year in plan_years.loaded_years(session)))
