"""API v1 described once: the OpenAPI 3.1 document, and the request checks that read the same schemas.

Each operation's query parameters and body are JSON Schema here; `parse_query` and `check_body` refuse
what the document would refuse (integers through tracker.web.params: ASCII digits, a range), so the
document, the validation and the tests cannot disagree.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from tracker.domain.attachments import EXTENSIONS as _ATTACHMENT_EXTENSIONS
from tracker.domain.labels import DIRECTION_WORDS, REPORT_STATES, SEVERITIES, STATUSES
from tracker.domain.roc import ROC_YEAR_MAX, ROC_YEAR_MIN
from tracker.models import ALERT_STATUSES, CATEGORIES
from tracker.services.alerts import KIND_LABELS as ALERT_KINDS
from tracker.services.execution import BY_LEVELS, KINDS
from tracker.web.params import MAX_ID, MAX_PAGE, ParamError, int_param, roc_date_param, roc_month_param

#: The largest JSON body the API reads (a milestone update is a few hundred bytes).
API_MAX_BODY_BYTES = 64 * 1024
#: The kinds of file a report takes.
ATTACHMENT_TYPES = tuple(_ATTACHMENT_EXTENSIONS)
#: The longest text a query parameter may hold.
MAX_TEXT = 200
#: Text parameters never hold control characters (PostgreSQL refuses NUL in a string outright).
_PLAIN_TEXT = {"type": "string", "maxLength": MAX_TEXT, "pattern": "^[^\\x00-\\x1f\\x7f]*$"}
_DATE = {"type": ["string", "null"], "format": "date"}
#: Query dates and months typed the ROC way or ISO, within ROC years 1–300 (formats of our own: JSON Schema
#: validators take them as annotations, parse_query reads them with tracker.web.params).
_ROC_DATE = {**_PLAIN_TEXT, "format": "roc-date"}
_ROC_MONTH = {**_PLAIN_TEXT, "format": "roc-month"}
#: parse_query's reader for each of those formats.
_FORMAT_READERS = {"roc-date": roc_date_param, "roc-month": roc_month_param}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
#: A date a client sends: ISO or the ROC way (106/7/3, 106年7月3日); tracker.domain.roc.parse_date reads it.
_DATE_INPUT = {"type": ["string", "null"], "maxLength": 40,
               "description": "YYYY-MM-DD, or ROC 106/7/3 or 106年7月3日; null clears it",
               "x-message": "日期須為 YYYY-MM-DD（或民國 106/7/3）字串或 null"}
#: The API's own page size limit comes from configuration; the document states the default maximum.
API_MAX_PAGE_SIZE_DOCUMENTED = 500

SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object", "required": ["error", "status"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                       "request_id": {"type": "string", "description": "the X-Request-ID of the request, for the logs"}},
    },
    "Milestone": {
        "type": "object",
        "required": ["id", "name", "planned_start", "planned_finish", "actual_start", "actual_finish",
                     "status", "percent_complete", "version"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "planned_start": {"type": "string", "format": "date"},
            "planned_finish": {"type": "string", "format": "date"},
            "baseline_start": {"type": "string", "format": "date"},
            "baseline_finish": {"type": "string", "format": "date"},
            "actual_start": _DATE,
            "actual_finish": _DATE,
            "status": {"enum": list(STATUSES)},
            "percent_complete": {"type": "number", "minimum": 0, "maximum": 100},
            "version": {"type": "integer", "minimum": 1},
        },
        "additionalProperties": False,
    },
    "Project": {
        "type": "object",
        "required": ["id", "code", "name", "work_plan", "category", "systems", "phase_index", "phase_total",
                     "parent_id", "kpis", "milestones"],
        "properties": {
            "id": {"type": "integer"},
            "programme_id": {"type": "integer", "description": "The programme's id, the same in every year's plan "
                                                              "(equal to id)"},
            "year": {"type": "integer", "description": "The ROC year whose plan entry the fields show"},
            "name": {"type": "string"},
            "work_plan": {"type": "string"},
            "category": {"enum": list(CATEGORIES)},
            "systems": {"type": "array", "items": {"type": "string"}},
            "phase_index": {"type": ["integer", "null"], "description": "This year's index in the plan (1 of 1/3)"},
            "phase_total": {"type": ["integer", "null"], "description": "The plan's length in years (3 of 1/3)"},
            "first_year": {"type": "integer", "description": "First ROC year"},
            "last_year": {"type": "integer", "description": "Last ROC year"},
            "parent_id": {"type": ["integer", "null"], "description": "Set for a sub-plan"},
            "code": {"type": ["string", "null"],
                     "description": "計畫編號, the plan code users see and import files name: a programme's 序號 "
                                    "(48 is 嘉義市調查站), a sub-plan's 「<programme>-<its number>」 (49-3); "
                                    "not the internal id"},
            "sub_code": {"type": ["string", "null"], "description": "計畫1 … 計畫9 for a sub-plan"},
            "kpis": {"type": "array", "items": {"type": "string"}, "description": "KPI names as the plan writes them"},
            "milestones": {"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}},
            "light": {"enum": ["red", "yellow", "green", "none"],
                      "description": "The schedule light on the reporting date: a programme's from the one judgement "
                                     "(milestones, planned curve, latest report), a sub-plan's from its milestones"},
            "earned_value": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/EarnedValue"}],
                             "description": "A programme's earned value (實獲值) on as_of; null for a sub-plan"},
        },
        "additionalProperties": False,
    },
    "EarnedValue": {
        "type": "object",
        "required": ["as_of", "year", "bac", "pv", "ev", "ac", "sv", "cv", "spi", "cpi", "eac", "etc", "vac", "tcpi"],
        "description": "Earned value of a programme (and its sub-plans) for as_of's ROC year, NT$ thousand (千元). "
                       "BAC is the year's capital 可支用預算數, not the life budget (the plan gives none; "
                       "life-to-date budgets are in GET /programmes/{id}). PV and EV use the cumulative planned "
                       "and actual % of the programme's latest report of a month of that year on or before as_of; "
                       "AC is the year's capital 執行數 at as_of's month. Each figure is null when an input is "
                       "missing or a divisor is zero. Ratios are unrounded.",
        "properties": {
            "as_of": {"type": "string", "format": "date", "description": "The date the figures are for"},
            "year": {"type": "integer", "description": "The ROC year whose budget is BAC (as_of's)"},
            "bac": {"type": ["number", "null"], "description": "Budget at completion: the year's capital 可支用預算數"},
            "pv": {"type": ["number", "null"], "description": "Planned value (計畫價值) = BAC × planned %"},
            "ev": {"type": ["number", "null"], "description": "Earned value (實獲值) = BAC × actual %"},
            "ac": {"type": ["number", "null"], "description": "Actual cost (實際成本) = 執行數 (paid + payables + savings)"},
            "sv": {"type": ["number", "null"], "description": "Schedule variance = EV − PV"},
            "cv": {"type": ["number", "null"], "description": "Cost variance = EV − AC"},
            "spi": {"type": ["number", "null"], "description": "Schedule performance index = EV ÷ PV"},
            "cpi": {"type": ["number", "null"], "description": "Cost performance index = EV ÷ AC"},
            "eac": {"type": ["number", "null"], "description": "Estimate at completion = BAC ÷ CPI"},
            "etc": {"type": ["number", "null"], "description": "Estimate to complete = EAC − AC"},
            "vac": {"type": ["number", "null"], "description": "Variance at completion = BAC − EAC"},
            "tcpi": {"type": ["number", "null"], "description": "To-complete performance index = (BAC − EV) ÷ (BAC − AC)"},
        },
        "additionalProperties": False,
    },
    "ProjectList": {
        "type": "object", "required": ["projects"],
        "properties": {
            "projects": {"type": "array", "items": {"$ref": "#/components/schemas/Project"}},
            "year": {"type": "integer", "description": "The ROC year listed (default: the reporting date's)"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
        },
        "additionalProperties": False,
    },
    "Programme": {
        "type": "object", "required": ["programme_id", "name", "entries", "budgets", "life_to_date"],
        "properties": {
            "programme_id": {"type": "integer"}, "name": {"type": "string", "description": "The latest year's name"},
            "code": {"type": ["string", "null"]}, "systems": {"type": "array", "items": {"type": "string"}},
            "first_year": {"type": "integer"}, "last_year": {"type": "integer"},
            "entries": {"type": "array", "description": "The programme as each year's plan lists it, oldest first",
                        "items": {"type": "object"}},
            "budgets": {"type": "array", "description": "Each year's budget and 執行數 (千元), the programme's and "
                                                       "its sub-plans' together", "items": {"type": "object"}},
            "life_to_date": {"type": "object", "description": "By kind: budget (原 + 追加 of every year; a "
                                                              "carry-over is not counted twice) and executed"},
            "reports": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": False,
    },
    "Kpi": {
        "type": "object", "required": ["goal", "name", "measure", "target", "unit", "direction"],
        "properties": {
            "kpi_id": {"type": "integer", "description": "The KPI's id, the same in every year"},
            "code": {"type": "string", "description": "Its number in that year's plan (一-1)"},
            "goal": {"type": "string"},
            "name": {"type": "string"},
            "measure": {"type": "string"},
            "target": {"type": "number"},
            "target_text": {"type": "string"},
            "unit": {"type": "string"},
            "direction": {"enum": list(DIRECTION_WORDS)},
        },
        "additionalProperties": False,
    },
    "ExecutionRow": {
        "type": "object",
        "required": ["key", "available_budget", "allocated", "paid", "payables", "savings", "executed",
                     "allocation_rate", "achievement_rate", "spend_rate", "allocated_unexecuted", "forecast_rate"],
        "properties": {
            "key": {"type": "string", "description": "Project, work plan, system, category or 法務部"},
            "project_id": {"type": ["integer", "null"]},
            "code": {"type": ["string", "null"], "description": "計畫編號, the plan code users see (48), on rows by "
                                                           "project; null for groups and the total"},
            "available_budget": {"type": "number", "description": "可支用預算數 (NT$ thousand)"},
            "allocated": {"type": "number", "description": "累計分配數"},
            "paid": {"type": "number", "description": "累計實支數"},
            "payables": {"type": "number", "description": "應付未付數"},
            "savings": {"type": "number", "description": "累計賸餘數"},
            "executed": {"type": "number", "description": "執行數 = paid + payables + savings"},
            "allocation_rate": {"type": ["number", "null"], "description": "分配預算執行率 % (2 decimals)"},
            "achievement_rate": {"type": ["number", "null"], "description": "經費達成率 %"},
            "spend_rate": {"type": ["number", "null"], "description": "支用率 %"},
            "allocated_unexecuted": {"type": "number", "description": "已分配未執行數"},
            "forecast_rate": {"type": ["number", "null"], "description": "Forecast year-end execution rate %"},
            "needed_per_month": {"type": ["number", "null"], "description": "每月尚需執行 to reach the target"},
            "figures_month": {"type": ["integer", "null"], "minimum": 1, "maximum": 12,
                              "description": "The month the figures are from: earlier than as_of when the month "
                                             "is not reported (the latest earlier figures are shown); for a group, "
                                             "the earliest of its projects'; null: no figures yet"},
            "projects": {"type": "integer", "description": "Projects the row sums (a total counts each once)"},
            "reported": {"type": "integer", "description": "Of those, with figures for the month as_of (已報)"},
            "carried": {"type": "integer", "description": "Of those, shown with an earlier month's figures"},
        },
        "additionalProperties": False,
    },
    "Completeness": {
        "type": "object",
        "required": ["year_roc", "month", "progress", "figures", "line", "missing"],
        "properties": {
            "year_roc": {"type": "integer"},
            "month": {"type": "integer", "minimum": 1, "maximum": 12},
            "progress": {"type": "object", "required": ["due", "reported", "approved"],
                         "description": "Programmes running this year; with a report for the month; approved",
                         "properties": {"due": {"type": "integer"}, "reported": {"type": "integer"},
                                        "approved": {"type": "integer"}},
                         "additionalProperties": False},
            "figures": {"type": "object", "required": ["due", "reported"],
                        "description": "Programmes with a capital budget this year; with month-end figures for the month",
                        "properties": {"due": {"type": "integer"}, "reported": {"type": "integer"}},
                        "additionalProperties": False},
            "line": {"type": "string", "description": "「10 月進度已報 31／57，已核定 20；資本門月報已報 30／33」"},
            "missing": {"type": "array", "description": "Due programmes without a report or without figures",
                        "items": {"type": "object",
                                  "required": ["id", "name", "managers", "progress_state", "has_figures"],
                                  "properties": {
                                      "id": {"type": "integer"}, "name": {"type": "string"},
                                      "systems": {"type": "array", "items": {"type": "string"}},
                                      "managers": {"type": "array", "items": {"type": "string"},
                                                   "description": "Active project managers of the programme's "
                                                                  "systems (a programme has no manager of its own)"},
                                      "progress_state": {"enum": ["unreported", "submitted", "returned", "approved",
                                                                  None],
                                                         "description": "null: no progress report due this year"},
                                      "has_figures": {"type": ["boolean", "null"],
                                                      "description": "null: no capital budget this year"},
                                  },
                                  "additionalProperties": False}},
        },
        "additionalProperties": False,
    },
    "ExecutionTable": {
        "type": "object", "required": ["rows"],
        "properties": {
            "year": {"type": "integer"}, "as_of": {"type": ["string", "null"]}, "by": {"enum": list(BY_LEVELS)},
            "kind": {"enum": list(KINDS)}, "unit": {"type": "string"}, "synthetic": {"type": "boolean"},
            "rows": {"type": "array", "items": {"$ref": "#/components/schemas/ExecutionRow"}},
            "total": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/ExecutionRow"}]},
        },
        "additionalProperties": False,
    },
    "Alert": {
        "type": "object",
        "required": ["id", "kind", "severity", "project_id", "milestone_id", "message", "opened_at", "resolved_at",
                     "status"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"enum": list(ALERT_KINDS)},
            "severity": {"enum": list(SEVERITIES)},
            "project_id": {"type": "integer"},
            "milestone_id": {"type": ["integer", "null"]},
            "message": {"type": "string"},
            "opened_at": {"type": "string", "format": "date-time"},
            "resolved_at": {"type": ["string", "null"], "format": "date-time"},
            "status": {"enum": list(ALERT_STATUSES)},
            "as_of": {"type": "string", "format": "date"},
            "synthetic": {"type": "boolean"},
            "acknowledgement": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "AlertList": {
        "type": "object", "required": ["alerts"],
        "properties": {
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
        },
        "additionalProperties": False,
    },
    "MilestoneUpdate": {
        "type": "object", "required": ["version"],
        "properties": {
            "version": {**_ID, "description": "The version last read; a stale one gets 409",
                        "x-message": "必填：最後讀取到的版本號（整數）"},
            "status": {"enum": list(STATUSES), "x-message": f"須為 {'、'.join(STATUSES)} 之一"},
            "percent_complete": {"type": "number", "minimum": 0, "maximum": 100,
                                 "x-message": "完成百分比須為 0 至 100 的數字"},
            "actual_start": _DATE_INPUT,
            "actual_finish": _DATE_INPUT,
        },
        "additionalProperties": False,
        "minProperties": 2,
        "x-message": "沒有要更新的欄位（status、percent_complete、actual_start、actual_finish）",
    },
    "FieldErrors": {
        "type": "object", "required": ["error", "status", "fields"],
        "properties": {"error": {"type": "string"}, "status": {"const": 400}, "request_id": {"type": "string"},
                       "fields": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"},
                                  "description": "Each bad parameter or field (body: the body as a whole) and why"}},
    },
    "Conflict": {
        "type": "object", "required": ["error", "status", "current"],
        "properties": {"error": {"type": "string"}, "status": {"const": 409}, "request_id": {"type": "string"},
                       "current": {"$ref": "#/components/schemas/Milestone"}},
    },
    "KpiList": {
        "type": "object", "required": ["kpis"],
        "properties": {"kpis": {"type": "array", "items": {"$ref": "#/components/schemas/Kpi"}},
                       "year": {"type": "integer", "description": "The ROC year whose targets are listed"}},
        "additionalProperties": False,
    },
    "AuditEntry": {
        "type": "object",
        "required": ["id", "at", "user", "action", "entity_type", "entity_id", "remote_addr", "changes"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time", "description": "When, in UTC"},
            "user": {"type": "string", "description": "The user's name, or the process (cli, seed, scheduler)"},
            "action": {"type": "string", "description": "Such as login.failed, user.create, milestone.update"},
            "entity_type": {"type": "string", "description": "project, milestone, user, alert, budget, month_end, …"},
            "entity_id": {"type": ["string", "null"]},
            "remote_addr": {"type": ["string", "null"], "description": "The client's address"},
            "changes": {"type": "object", "description": "{field: [old, new]} for updates; the values for creates"},
        },
        "additionalProperties": False,
    },
    "AuditList": {
        "type": "object", "required": ["entries", "page", "per_page", "total"],
        "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
        },
        "additionalProperties": False,
    },
    "Attachment": {
        "type": "object", "required": ["id", "name", "size", "type", "url"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "The file's name, cleaned (no folders, the kind's extension)"},
            "size": {"type": "integer", "minimum": 1, "description": "Bytes"},
            "type": {"enum": list(ATTACHMENT_TYPES), "description": "Recognised from the content, not the name"},
            "url": {"type": "string", "description": "GET it with a token: /api/v1/attachments/{id}"},
            "revision": {"type": "integer", "minimum": 1, "description": "The report revision it came with"},
            "uploaded_at": {"type": "string", "format": "date-time"},
        },
        "additionalProperties": False,
    },
    "AttachmentList": {
        "type": "object", "required": ["attachments"],
        "properties": {"attachments": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}},
        "additionalProperties": False,
    },
    "ReportRevision": {
        "type": "object",
        "required": ["revision", "state", "planned_percent", "actual_percent", "delay_reason", "remedy",
                     "correction_reason", "reviewer_comment", "submitted_by", "submitted_at", "attachments"],
        "properties": {
            "revision": {"type": "integer", "minimum": 1},
            "state": {"enum": list(REPORT_STATES), "description": "submitted 已送出, returned 退回, approved 已核定"},
            "year_roc": {"type": "integer"}, "month": {"type": "integer", "minimum": 1, "maximum": 12},
            "planned_percent": {"type": ["number", "null"], "description": "The plan's (curve or milestone dates), never typed"},
            "actual_percent": {"type": "number", "minimum": 0, "maximum": 100},
            "delay_reason": {"type": ["string", "null"], "description": "落後原因"},
            "remedy": {"type": ["string", "null"], "description": "因應對策"},
            "correction_reason": {"type": ["string", "null"], "description": "Why a cumulative percent fell, or why an approved month was corrected"},
            "reviewer_comment": {"type": ["string", "null"]},
            "submitted_by": {"type": ["string", "null"]}, "submitted_at": {"type": "string", "format": "date-time"},
            "reviewed_by": {"type": ["string", "null"]}, "reviewed_at": {"type": ["string", "null"], "format": "date-time"},
            "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}},
        },
        "additionalProperties": False,
    },
    "ReportRevisionList": {
        "type": "object", "required": ["state", "revisions"],
        "properties": {
            "state": {"enum": ["unreported", *REPORT_STATES], "description": "The month's state: its latest revision's"},
            "revisions": {"type": "array", "items": {"$ref": "#/components/schemas/ReportRevision"},
                          "description": "Newest first"},
        },
        "additionalProperties": False,
    },
    "ReportSubmit": {
        "type": "object", "required": ["actual_percent"],
        "properties": {
            "actual_percent": {"type": "number", "minimum": 0, "maximum": 100,
                               "x-message": "實際進度須為 0 至 100 的數字"},
            "delay_reason": {"type": ["string", "null"], "maxLength": 2000, "x-message": "落後原因須為文字（至多 2000 字）"},
            "remedy": {"type": ["string", "null"], "maxLength": 2000, "x-message": "因應對策須為文字（至多 2000 字）"},
            "correction_reason": {"type": ["string", "null"], "maxLength": 2000,
                                  "x-message": "更正原因須為文字（至多 2000 字）"},
            "planned_percent": {"type": ["number", "null"],
                                "description": "Ignored: the planned percent is the plan's, never typed"},
            "milestones": {"type": "array", "maxItems": 500, "items": {
                "type": "object", "required": ["id", "version"],
                "properties": {
                    "id": {**_ID, "x-message": "里程碑編號須為整數"},
                    "version": {**_ID, "x-message": "必填：最後讀取到的版本號（整數）"},
                    "status": {"enum": list(STATUSES), "x-message": f"須為 {'、'.join(STATUSES)} 之一"},
                    "percent_complete": {"type": "number", "minimum": 0, "maximum": 100,
                                         "x-message": "完成百分比須為 0 至 100 的數字"},
                    "actual_start": _DATE_INPUT, "actual_finish": _DATE_INPUT,
                },
                "additionalProperties": False}},
        },
        "additionalProperties": False,
    },
    "ReviewAction": {
        "type": "object",
        "properties": {
            "revision": {**_ID, "description": "The revision reviewed (default: the latest); another one gets 409",
                         "x-message": "版本須為整數"},
            "comment": {"type": ["string", "null"], "maxLength": 2000, "description": "Required to return",
                        "x-message": "審核意見須為文字（至多 2000 字）"},
        },
        "additionalProperties": False,
    },
    "ConflictList": {
        "type": "object", "required": ["error", "status"],
        "properties": {"error": {"type": "string"}, "status": {"const": 409}, "request_id": {"type": "string"},
                       "current": {"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}}},
    },
    "OpenApi": {"type": "object", "required": ["openapi", "paths"]},
}


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _query(name: str, schema: dict, description: str | None = None) -> dict:
    parameter = {"name": name, "in": "query", "schema": schema, "allowEmptyValue": True}
    if description:
        parameter["description"] = description
    return parameter


_ID_PATH = {"name": "id", "in": "path", "required": True, "schema": _ID,
            "description": "ASCII digits; an id beyond the range is simply not found (404)"}
_PAGE = _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE})
_PER_PAGE = _query("per_page", {"type": "integer", "minimum": 1, "maximum": API_MAX_PAGE_SIZE_DOCUMENTED},
                   "Rows a page (API_PAGE_SIZE by default, at most API_MAX_PAGE_SIZE)")
_YEAR = {"type": "integer", "minimum": ROC_YEAR_MIN, "maximum": ROC_YEAR_MAX, "x-message": "年度須為民國年（例如 106）"}
_SYSTEM = _query("system", {**_PLAIN_TEXT, "examples": ["檢察", "prosecution"]}, "System name (檢察) or code (prosecution)")
_CATEGORY = _query("category", {"enum": list(CATEGORIES), "x-message": f"計畫類別須為 {'、'.join(CATEGORIES)} 之一"})
_R401 = _json("Error", "No valid Bearer token")
_MONTH_PATH = {"name": "month", "in": "path", "required": True,
               "schema": {**_ROC_MONTH, "examples": ["106-09", "2017-09"]}, "description": "The report's month: 106-09 or 2017-09"}
_R400 = _json("FieldErrors", "Bad parameters, each named in fields")
_EV_AS_OF = _query("as_of", {**_ROC_DATE, "examples": ["106/9/30", "2017-09-30"]},
                   "The date earned_value is for, ROC (106/9/30) or ISO (2017-09-30); its ROC year's budget is BAC "
                   "(default: the reporting date, moved into year when year names another year)")
_R404 = _json("Error", "No such record")

#: operationId → (method, path, operation); the views name their operation, the document lists them all.
OPERATIONS: dict[str, tuple[str, str, dict]] = {
    "listProjects": ("get", "/projects", {
        "summary": "Projects and sub-plans with milestones, in plan order",
        "parameters": [_SYSTEM, _CATEGORY, _query("year", _YEAR, "ROC year whose plan entries are listed "
                                                                 "(default: the reporting date's year)"),
                       _query("q", {**_PLAIN_TEXT, "examples": ["監獄", "擴建"]}, "Words in a name"), _PAGE, _PER_PAGE,
                       _EV_AS_OF],
        "responses": {"200": _json("ProjectList", "One page of projects"), "400": _R400, "401": _R401},
    }),
    "getProject": ("get", "/projects/{id}", {
        "summary": "One project",
        "parameters": [_ID_PATH, _query("year", _YEAR, "Show the project as this ROC year's plan lists it"),
                       _EV_AS_OF],
        "responses": {"200": _json("Project", "The project"), "400": _R400, "401": _R401, "404": _R404},
    }),
    "getProgramme": ("get", "/programmes/{id}", {
        "summary": "A programme's whole life: its entry in each year's plan, budgets and execution by year",
        "parameters": [_ID_PATH],
        "responses": {"200": _json("Programme", "The programme"), "401": _R401, "404": _R404},
    }),
    "listKpis": ("get", "/kpis", {
        "summary": "The KPIs of a year's plan, with that year's targets",
        "parameters": [_query("year", _YEAR, "ROC year (default: the reporting date's year)")],
        "responses": {"200": _json("KpiList", "All KPIs"), "400": _R400, "401": _R401},
    }),
    "getExecution": ("get", "/execution", {
        "summary": "Execution figures and official rates by a level of the portfolio",
        "parameters": [
            _query("year", _YEAR, "ROC year (106)"),
            _query("as_of", {**_ROC_MONTH, "examples": ["2017-08", "106-08"]}, "Month-end: 2017-08 or 106-08 (default: the latest month with figures)"),
            _query("by", {"enum": list(BY_LEVELS)}, "Default project"),
            _query("kind", {"enum": list(KINDS)}, "Default capital"),
            _SYSTEM, _CATEGORY,
        ],
        "responses": {"200": _json("ExecutionTable", "The rows and their total"), "400": _R400, "401": _R401},
    }),
    "getCompleteness": ("get", "/completeness", {
        "summary": "Who has reported a month: progress reports and capital month-end figures, and who is missing",
        "parameters": [
            _query("month", {**_ROC_MONTH, "examples": ["106-09", "2017-09"]},
                   "The month: 106-09 or 2017-09 (default: the month before the reporting date)"),
            _SYSTEM,
        ],
        "responses": {"200": _json("Completeness", "The counts and the programmes missing"), "400": _R400,
                      "401": _R401},
    }),
    "listAlerts": ("get", "/alerts", {
        "summary": "Alerts the user may see",
        "parameters": [
            _query("status", {"enum": list(ALERT_STATUSES)}, "Default: every unresolved alert"),
            _query("kind", {"enum": list(ALERT_KINDS)}),
            _PAGE, _PER_PAGE,
        ],
        "responses": {"200": _json("AlertList", "One page of alerts"), "400": _R400, "401": _R401},
    }),
    "getMilestone": ("get", "/milestones/{id}", {
        "summary": "One milestone with its version",
        "parameters": [_ID_PATH],
        "responses": {"200": _json("Milestone", "The milestone"), "401": _R401, "404": _R404},
    }),
    "updateMilestone": ("patch", "/milestones/{id}", {
        "summary": "Report a milestone's progress (optimistic locking by version)",
        "parameters": [_ID_PATH],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/MilestoneUpdate"}}},
            "description": f"A JSON object of at most {API_MAX_BODY_BYTES} bytes"},
        "responses": {
            "200": _json("Milestone", "Saved; the new version"),
            "400": _json("FieldErrors", "Bad input, field by field (body: not a JSON object)"),
            "401": _R401,
            "403": _json("Error", "The user may not write to this project"),
            "404": _R404,
            "409": _json("Conflict", "Saved by someone else first; the newer values"),
            "413": _json("Error", f"The body is larger than {API_MAX_BODY_BYTES} bytes"),
        },
    }),
    "uploadAttachments": ("post", "/projects/{id}/reports/{month}/attachments", {
        "summary": "Add 施工照片 or documents to the latest revision of a month's report (all files or none)",
        "description": "JPEG, PNG or PDF, recognised by content; each file at most ATTACHMENT_MAX_BYTES (10 MB), "
                       "the month's files together at most ATTACHMENT_REPORT_MAX_BYTES (30 MB). The month must "
                       "have a report that is not approved.",
        "parameters": [_ID_PATH, _MONTH_PATH],
        "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["files"],
                       "properties": {"files": {"type": "array", "minItems": 1, "items": {
                           "type": "string", "contentMediaType": "application/octet-stream"}}}},
            "encoding": {"files": {"contentType": ", ".join(ATTACHMENT_TYPES)}}}}},
        "responses": {
            "201": _json("AttachmentList", "Saved, in the order sent"),
            "400": _json("FieldErrors", "Files refused, each named in fields with its reason (month: not a month); "
                                        "nothing was saved"),
            "401": _R401,
            "403": _json("Error", "The user may not write to this programme"),
            "404": _R404,
            "409": _json("Error", "The month has no report yet (本月尚未填報), or it is approved and frozen"),
            "413": _json("Error", "The upload is larger than MAX_UPLOAD_BYTES"),
        },
    }),
    "getAttachment": ("get", "/attachments/{id}", {
        "summary": "One file of a report, as uploaded",
        "parameters": [_ID_PATH],
        "responses": {
            "200": {"description": "The file, inline, with X-Content-Type-Options: nosniff",
                    "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}}
                                for kind in ATTACHMENT_TYPES}},
            "401": _R401, "404": _R404,
        },
    }),
    "getReports": ("get", "/projects/{id}/reports/{month}", {
        "summary": "Every revision of a programme's month, newest first, with its state and attachments",
        "parameters": [_ID_PATH, _MONTH_PATH],
        "responses": {"200": _json("ReportRevisionList", "The month"), "400": _R400, "401": _R401, "404": _R404},
    }),
    "submitReport": ("post", "/projects/{id}/reports/{month}", {
        "summary": "Submit a month's report (a new revision, state submitted) with its milestones, all or nothing",
        "description": "The planned percent is the plan's; a typed planned_percent is not stored. Cumulative "
                       "actual percent (of the programme and of each milestone) does not fall without a "
                       "correction_reason; 落後原因 and 因應對策 are required when actual is behind planned; the "
                       "month must be within the programme's years and not after the reporting date.",
        "parameters": [_ID_PATH, _MONTH_PATH],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReportSubmit"}}}},
        "responses": {
            "201": _json("ReportRevision", "Saved: the new revision"),
            "400": _json("FieldErrors", "Bad input, field by field (milestones[i].field for a milestone)"),
            "401": _R401,
            "403": _json("Error", "The user may not report for this programme"),
            "404": _R404,
            "409": _json("ConflictList", "A milestone was saved by someone else first; the newer values"),
        },
    }),
    "approveReport": ("post", "/projects/{id}/reports/{month}/approve", {
        "summary": "Approve (核定) the month's latest submitted revision",
        "parameters": [_ID_PATH, _MONTH_PATH],
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReviewAction"}}}},
        "responses": {
            "200": _json("ReportRevision", "Approved"), "400": _R400, "401": _R401,
            "403": _json("Error", "Not a reviewer of the programme's system nor an admin, or the report's own author"),
            "404": _R404,
            "409": _json("Error", "The revision is not the latest submitted one"),
        },
    }),
    "returnReport": ("post", "/projects/{id}/reports/{month}/return", {
        "summary": "Return (退回) the month's latest submitted revision with a comment",
        "parameters": [_ID_PATH, _MONTH_PATH],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReviewAction"}}}},
        "responses": {
            "200": _json("ReportRevision", "Returned"),
            "400": _json("FieldErrors", "comment: required to return"), "401": _R401,
            "403": _json("Error", "Not a reviewer of the programme's system nor an admin, or the report's own author"),
            "404": _R404,
            "409": _json("Error", "The revision is not the latest submitted one"),
        },
    }),
    "listAudit": ("get", "/audit", {
        "summary": "The audit log, newest first (administrators only)",
        "parameters": [
            _query("user", {**_PLAIN_TEXT, "examples": ["cli", "seed"]}, "The actor's name: an account, or cli, seed, scheduler"),
            _query("action", {**_PLAIN_TEXT, "examples": ["login.", "login.failed", "user.create"]}, "An action code (login.failed), or a family ending in a dot (login.)"),
            _query("project", {**_ID, "x-message": "須為計畫編號（整數）", "examples": [1, 20]},
                   "A project id: entries about it, its sub-plans, milestones, alerts and figures"),
            _query("from", {**_ROC_DATE, "examples": ["106/7/15", "2017-07-15"]}, "First day, ROC (106/7/15) or ISO (2017-07-15), in the configured timezone"),
            _query("to", {**_ROC_DATE, "examples": ["106年12月31日"]}, "Last day, inclusive"),
            _PAGE, _PER_PAGE,
        ],
        "responses": {
            "200": _json("AuditList", "One page of entries"), "400": _R400, "401": _R401,
            "403": _json("Error", "The token's user is not an administrator"),
        },
    }),
    "getOpenApi": ("get", "/openapi.json", {
        "summary": "This document",
        "responses": {"200": _json("OpenApi", "The OpenAPI 3.1 document"), "401": _R401},
    }),
}


def openapi_document(max_page_size: int = API_MAX_PAGE_SIZE_DOCUMENTED) -> dict:
    """The whole document; per_page's maximum is the configured API_MAX_PAGE_SIZE."""
    paths: dict[str, dict] = {}
    for operation_id, (method, path, operation) in OPERATIONS.items():
        operation = {**operation, "parameters": [
            {**p, "schema": {**p["schema"], "maximum": max_page_size}} if p["name"] == "per_page" else p
            for p in operation.get("parameters", [])]}
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault(path, {})[method] = {"operationId": operation_id, **operation}
    return {
        "openapi": "3.1.0",
        "info": {"title": "法務部重要計畫管考系統 API", "version": "1",
                 "description": "Every answer is JSON. Any path under /api/ that names nothing is 404 and a "
                                "method a path does not take is 405, both with the Error schema."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": paths,
    }


_VALIDATORS: dict[int, jsonschema.Validator] = {}  #: by id() of a schema: they are this module's constants


def validator(schema: dict) -> jsonschema.Validator:
    """A JSON Schema 2020-12 validator (formats checked) for a schema that may $ref the components."""
    found = _VALIDATORS.get(id(schema))
    if found is None:
        found = jsonschema.Draft202012Validator({**schema, "components": {"schemas": SCHEMAS}},
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        if any(schema is known for known in _constant_schemas()):
            _VALIDATORS[id(schema)] = found
    return found


def _constant_schemas():
    """The schemas a validator may be kept for (a schema made on the fly could share a freed object's id)."""
    yield from SCHEMAS.values()
    for _, _, operation in OPERATIONS.values():
        for parameter in operation.get("parameters", []):
            yield parameter["schema"]


class RequestRefused(ValueError):
    """Request parameters or a body the description refuses: ``errors`` maps each name to why."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


def _why(error: jsonschema.ValidationError, schema: dict) -> str:
    """A refusal in words, the schema's own x-message first."""
    if "x-message" in schema:
        return schema["x-message"]
    if error.validator == "enum":
        return f"須為 {'、'.join(map(str, error.validator_value))} 之一"
    if error.validator == "maxLength":
        return f"至多 {error.validator_value} 個字元"
    if error.validator == "pattern":
        return "不可含控制字元"
    if error.validator in ("minimum", "maximum", "type") and schema.get("type") == "integer":
        return f"須為 {schema.get('minimum')} 至 {schema.get('maximum')} 的整數"
    return error.message[:120]


def parse_query(operation_id: str, args: Mapping[str, str], defaults: Mapping[str, Any] | None = None,
                limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The operation's query parameters, typed (absent or empty: the default); RequestRefused names every bad one.

    ``limits`` lowers a documented integer maximum to the configured one (API_MAX_PAGE_SIZE).
    """
    defaults, limits = defaults or {}, limits or {}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for parameter in OPERATIONS[operation_id][2].get("parameters", []):
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter["schema"]
        text = args.get(name)
        values[name] = defaults.get(name)
        if text is None or text == "":
            continue
        try:
            if schema.get("type") == "integer":
                values[name] = int_param(args, name, None, schema["minimum"], limits.get(name, schema["maximum"]),
                                         schema.get("x-message"))
                continue
        except ParamError as error:
            errors[name] = error.message
            continue
        problem = next(iter(validator(schema).iter_errors(text)), None)
        if problem is not None:
            errors[name] = f"{_why(problem, schema)}，而非「{text[:40]}」"
        elif schema.get("format") in _FORMAT_READERS:
            try:
                values[name] = _FORMAT_READERS[schema["format"]](args, name)
            except ParamError as error:
                errors[name] = error.message
        else:
            values[name] = text
    if errors:
        raise RequestRefused(errors)
    return values


def check_body(schema_name: str, body: dict) -> None:
    """Check a parsed JSON object against a request schema; RequestRefused names every bad field."""
    schema = SCHEMAS[schema_name]
    errors: dict[str, str] = {}
    for problem in validator(schema).iter_errors(body):
        if problem.path:
            name = str(problem.path[0])
            errors.setdefault(name, _why(problem, schema["properties"].get(name, {})))
        elif problem.validator == "required":
            for name in problem.validator_value:
                if name not in body:
                    errors.setdefault(name, _why(problem, schema["properties"][name]))
        elif problem.validator == "additionalProperties":
            for name in body:
                if name not in schema["properties"]:
                    errors.setdefault(name, "不是可更新的欄位（status、percent_complete、actual_start、actual_finish）")
        else:
            errors.setdefault("body", _why(problem, schema))
    if errors:
        raise RequestRefused(errors)
