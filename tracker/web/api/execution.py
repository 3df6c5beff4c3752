"""GET /api/v1/execution: execution figures and official rates by a level of the portfolio."""
from __future__ import annotations

from flask import abort, current_app, jsonify, request

from tracker import db
from tracker.domain.roc import ROC_OFFSET
from tracker.services import execution
from tracker.web import plan_year
from tracker.web.api import bp, query
from tracker.web.api.projects import number
from tracker.web.errors import field_errors


def execution_row_json(row: execution.ExecutionRow) -> dict:
    """A row of the execution table as the API shows it (amounts in 千元)."""
    values = execution.row_values(row)
    out = {"key": row.key, "project_id": row.key_id if row.key_id is not None else None, "code": row.code}
    for name in ("available_budget", "allocated", "paid", "payables", "savings", "executed", "allocation_rate",
                 "achievement_rate", "spend_rate", "allocated_unexecuted", "forecast_rate", "needed_per_month"):
        out[name] = number(values[name])
    # The month the figures are from (an earlier one when the month asked for is not reported), and coverage.
    out.update(figures_month=row.figures_month, projects=row.projects, reported=row.reported, carried=row.carried)
    return out


@bp.get("/execution")
def execution_rates():
    """Execution figures and rates by project, work plan, system, category or the whole ministry."""
    from tracker.web.execution import ParamError, read_execution_params

    query("getExecution")  # the document's checks first: ASCII digits, enums, no control characters
    try:
        params = read_execution_params(request.args, plan_year.default_year())
        report = execution.execution_report(db.get_session(), thresholds=execution.thresholds_from(current_app.config),
                                            **params)
    except (ParamError, execution.ExecutionQueryError) as exc:
        abort(field_errors({exc.field: exc.message}))
    return jsonify({
        "year": report.year_roc,
        "as_of": f"{report.year_roc + ROC_OFFSET}-{report.month:02d}" if report.month else None,
        "by": report.by, "kind": report.kind, "unit": "NT$ thousand", "synthetic": report.is_synthetic,
        "rows": [execution_row_json(r) for r in report.rows],
        "total": execution_row_json(report.total) if report.total else None,
    })
