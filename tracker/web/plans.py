"""Plan import for admins: upload a year's 施政計畫 as text, see what it changes, settle ambiguous matches, confirm."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import db
from tracker.domain.access import Action
from tracker.services import plan_years, plans
from tracker.services.accounts import who_of
from tracker.web.forms import PlanUploadForm
from tracker.web.security import require

bp = Blueprint("plans", __name__)


def _lifetime() -> timedelta:
    return timedelta(minutes=int(current_app.config["LEDGER_PREVIEW_MINUTES"]))


def _page(form, problems=None, status=200):
    session = db.get_session()
    loaded = [plan_years.get_plan(session, y) for y in plan_years.loaded_years(session)]
    return render_template("plan_upload.html", form=form, problems=problems, loaded=loaded), status


def _preview_page(token: str, filename: str, preview: plans.PlanPreview, status: int = 200, chosen=None):
    return render_template("plan_preview.html", token=token, filename=filename, preview=preview,
                           chosen=chosen or {}, minutes=int(_lifetime().total_seconds() // 60)), status


@bp.route("/admin/plans", methods=["GET", "POST"])
def upload():
    """Upload a plan's text and see the preview (new, continuing, dropped, changed); nothing is written yet."""
    require(Action.IMPORT_PLAN)
    form = PlanUploadForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if request.method == "POST" else 200)
    session = db.get_session()
    limit = int(current_app.config["PLAN_MAX_MB"]) * 1024 * 1024
    try:
        text = plans.read_text(form.file.data.read(limit + 1), limit)
    except plans.PlanImportError as exc:
        return _page(form, exc.problems, 400)
    filename = form.file.data.filename or "plan.txt"
    preview = plans.preview_plan(session, text, form.year.data, filename=filename, replace=form.replace.data)
    if preview.problems:
        session.rollback()
        return _page(form, preview.problems, 400)
    token = plans.keep_preview(session, text, form.year.data, filename=filename, replace=form.replace.data,
                               user_id=g.user.id, lifetime=_lifetime())
    session.commit()
    return _preview_page(token, filename, preview)


@bp.route("/admin/plans/confirm", methods=["POST"])
def confirm():
    """「確認載入」: apply a previewed plan all or nothing, with the matches the admin settled."""
    require(Action.IMPORT_PLAN)
    session = db.get_session()
    token = request.form.get("token", "")
    try:
        row = plans.kept_preview(session, token, g.user.id, _lifetime())
    except plans.PreviewRefused as exc:
        flash(str(exc), "warning")
        return _page(PlanUploadForm(formdata=None), status=409)
    text, year, replace, filename = row.text, row.year_roc, row.is_replace, row.filename
    chosen = {key[len("match-"):]: value for key, value in request.form.items() if key.startswith("match-")}
    mapping: dict[str, int | None] = {}
    for code, value in chosen.items():
        if value == "new":
            mapping[code] = None
        elif value.isascii() and value.isdigit():
            mapping[code] = int(value)
    who = who_of(g.user, request.remote_addr)
    try:
        preview = plans.import_plan(session, text, year, who, filename=filename, mapping=mapping, replace=replace)
    except plans.PlanImportError as exc:
        session.rollback()
        again = plans.preview_plan(session, text, year, filename=filename, mapping=mapping, replace=replace)
        if again.ambiguous and not again.problems:
            flash(_("尚有 %(n)s 項計畫未指定延續前一年度的哪一項，請逐項選擇後再確認。", n=len(again.ambiguous)), "warning")
            return _preview_page(token, filename, again, 400, chosen)
        return _page(PlanUploadForm(formdata=None), exc.problems, 400)
    session.delete(row)
    session.commit()
    flash(_("已載入 %(year)s 年度計畫：新增 %(new)s 項、延續 %(continuing)s 項、不再列出 %(dropped)s 項。",
            year=year, new=len(preview.new), continuing=len(preview.continuing), dropped=len(preview.dropped)),
          "success")
    return redirect(url_for("plans.upload"))
