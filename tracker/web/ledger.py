"""The ledger upload: budget officers preview a budgets or month-end file, then confirm it (all rows or none);
the template to fill; the import history, with undo."""
from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from tracker import db
from tracker.domain.access import Action
from tracker.domain.roc import is_roc_year, previous_month
from tracker.services import (
    ledger_history,
    ledger_import,
    ledger_preview,
    ledger_template,
    reporting_date,
)
from tracker.services.accounts import who_of
from tracker.services.scans import rescan_after_import
from tracker.web.forms import UploadForm
from tracker.web.security import require

bp = Blueprint("ledger", __name__)

#: Amount columns of the preview, in the importer's order.
AMOUNT_LABELS = {
    "original": _l("原預算數"), "supplementary": _l("追加預算數"), "carried_over": _l("以前年度保留數"),
    "allocated": _l("累計分配數"), "paid": _l("累計實支數"), "payables": _l("應付未付數"),
    "savings": _l("累計賸餘數"),
}


def _template_defaults() -> dict:
    """The template form's year and month: last month, as of the reporting date."""
    year, month = previous_month(reporting_date.current(db.get_session(), current_app.config))
    return {"year": year, "month": month}


def _upload_page(form, problems=None, status=200):
    return render_template("upload.html", form=form, problems=problems, template=_template_defaults()), status


def _lifetime():
    return ledger_preview.lifetime_of(current_app.config)


@bp.route("/ledger/import", methods=["GET", "POST"])
def upload():
    """Budget officers upload a budgets or month-end file and see what it would change; nothing is written yet."""
    require(Action.EDIT_BUDGET)
    form = UploadForm()
    if form.validate_on_submit():
        session = db.get_session()
        upload_file = form.file.data
        who = who_of(g.user, request.remote_addr)
        try:
            kept = ledger_preview.preview(session, upload_file.filename or "upload", upload_file.read(), who,
                                          user=g.user, lifetime=_lifetime(), config=current_app.config)
        except PermissionError:
            abort(403)
        except ledger_import.ImportRefused as exc:
            session.rollback()
            return _upload_page(form, exc.problems, 400)
        session.commit()
        return render_template("ledger_preview.html", preview=kept, result=kept.result,
                               labels={field: AMOUNT_LABELS[field] for field in ledger_import._AMOUNTS[
                                   kept.result.kind]},
                               minutes=int(_lifetime().total_seconds() // 60))
    if request.method == "POST":
        return _upload_page(form, None, 400)
    return _upload_page(form)


@bp.route("/ledger/import/confirm", methods=["POST"])
def confirm():
    """「確認匯入」: write a previewed file if its figures are still as previewed."""
    require(Action.EDIT_BUDGET)
    session = db.get_session()
    who = who_of(g.user, request.remote_addr)
    try:
        result = ledger_preview.confirm(session, request.form.get("token", ""), who, user=g.user,
                                        lifetime=_lifetime(), config=current_app.config)
    except PermissionError:
        abort(403)
    except ledger_preview.PreviewRefused as exc:
        session.rollback()
        ledger_preview.clean_expired(session, _lifetime())
        session.commit()
        flash(str(exc), "warning")
        return _upload_page(UploadForm(), None, 409)
    except ledger_import.ImportRefused as exc:
        session.rollback()
        return _upload_page(UploadForm(), exc.problems, 400)
    rescan = rescan_after_import(session, result, current_app.config, who)
    try:
        session.commit()
    except IntegrityError:  # the same new rows were imported by someone else a moment ago
        session.rollback()
        flash(_("另一次匯入剛寫入相同的資料列，本次未寫入任何資料，請重新上傳。"), "warning")
        return _upload_page(UploadForm(), None, 409)
    message = ngettext("已匯入 %(num)s 列：新增 %(created)s、更新 %(replaced)s、未變動 %(unchanged)s。",
                       "已匯入 %(num)s 列：新增 %(created)s、更新 %(replaced)s、未變動 %(unchanged)s。",
                       result.rows, created=result.created, replaced=result.replaced,
                       unchanged=result.unchanged)
    message += _("（第 %(id)s 次匯入，可於匯入紀錄復原）", id=result.import_id)
    if rescan:
        message += _("已重新檢核執行率警示：新增 %(opened)s、更新 %(updated)s、解除 %(resolved)s。",
                     opened=rescan.opened, updated=rescan.updated, resolved=rescan.resolved)
    flash(message, "success")
    return redirect(url_for("ledger.upload"))


@bp.route("/ledger/template")
def template():
    """A CSV or XLSX to fill: every programme of the year with its plan code and name, and the importer's headings."""
    require(Action.EDIT_BUDGET)
    defaults = _template_defaults()
    try:
        kind = ledger_template.kind_of(request.args.get("kind", "month-end"))
        year = request.args.get("year", type=int) or defaults["year"]
        month = request.args.get("month", type=int) or (defaults["month"] if kind == "month_end" else None)
        fmt = request.args.get("format", "xlsx").lower()
        if not is_roc_year(year):
            raise ledger_template.TemplateError(f"年度須為民國年，例如 106（收到「{request.args.get('year')}」）")
        built = ledger_template.build(db.get_session(), kind, year, month)
        data = ledger_template.render(built, fmt)
    except ledger_template.TemplateError as exc:
        flash(str(exc), "warning")
        return _upload_page(UploadForm(), None, 400)
    mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "text/csv; charset=utf-8")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"{built.filename_stem}.{fmt}")


@bp.route("/ledger/history")
def history():
    """Every import, newest first, with undo for the budget officers."""
    require(Action.EDIT_BUDGET)
    return render_template("ledger_history.html", imports=ledger_history.list_imports(db.get_session()))


@bp.route("/ledger/history/<int:import_id>/undo", methods=["POST"])
def undo(import_id: int):
    """Undo one import: every row it created deleted, every row it replaced restored; alerts judged again."""
    require(Action.EDIT_BUDGET)
    session = db.get_session()
    who = who_of(g.user, request.remote_addr)
    try:
        result = ledger_history.undo_import(session, import_id, who)
    except PermissionError:
        abort(403)
    except ledger_history.UndoRefused as exc:
        session.rollback()
        flash(str(exc), "warning")
        return render_template("ledger_history.html", imports=ledger_history.list_imports(session)), 409
    rescan = rescan_after_import(session, result, current_app.config, who)
    session.commit()
    message = _("已復原第 %(id)s 次匯入：刪除 %(deleted)s 列、還原 %(restored)s 列。", id=import_id,
                deleted=result.deleted, restored=result.restored)
    if rescan:
        message += _("已重新檢核執行率警示：新增 %(opened)s、更新 %(updated)s、解除 %(resolved)s。",
                     opened=rescan.opened, updated=rescan.updated, resolved=rescan.resolved)
    flash(message, "success")
    return redirect(url_for("ledger.history"))
