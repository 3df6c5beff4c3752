"""The OpenAPI 3.1 document of API v1 (its schemas are JSON Schema, so tests validate real responses)."""
from __future__ import annotations

_DATE = {"type": ["string", "null"], "format": "date"}

SCHEMAS = {
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
            "status": {"enum": ["not_started", "in_progress", "done", "on_hold", "cancelled"]},
            "percent_complete": {"type": "number", "minimum": 0, "maximum": 100},
            "version": {"type": "integer", "minimum": 1},
        },
        "additionalProperties": False,
    },
    "Project": {
        "type": "object",
        "required": ["id", "name", "work_plan", "category", "systems", "phase_index", "phase_total",
                     "parent_id", "kpis", "milestones"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "work_plan": {"type": "string"},
            "category": {"enum": ["公共建設", "科技發展", "社會發展", "其它"]},
            "systems": {"type": "array", "items": {"type": "string"}},
            "phase_index": {"type": ["integer", "null"], "description": "This year's index in the plan (1 of 1/3)"},
            "phase_total": {"type": ["integer", "null"], "description": "The plan's length in years (3 of 1/3)"},
            "first_year": {"type": "integer", "description": "First ROC year"},
            "last_year": {"type": "integer", "description": "Last ROC year"},
            "parent_id": {"type": ["integer", "null"], "description": "Set for a sub-plan"},
            "sub_code": {"type": ["string", "null"], "description": "計畫1 … 計畫9 for a sub-plan"},
            "kpis": {"type": "array", "items": {"type": "string"}, "description": "KPI names as the plan writes them"},
            "milestones": {"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}},
        },
        "additionalProperties": False,
    },
    "ProjectList": {
        "type": "object", "required": ["projects"],
        "properties": {
            "projects": {"type": "array", "items": {"$ref": "#/components/schemas/Project"}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
        },
        "additionalProperties": False,
    },
    "Kpi": {
        "type": "object", "required": ["goal", "name", "measure", "target", "unit", "direction"],
        "properties": {
            "code": {"type": "string"},
            "goal": {"type": "string"},
            "name": {"type": "string"},
            "measure": {"type": "string"},
            "target": {"type": "number"},
            "target_text": {"type": "string"},
            "unit": {"type": "string"},
            "direction": {"enum": ["at_least", "at_most"]},
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
        },
        "additionalProperties": False,
    },
    "ExecutionTable": {
        "type": "object", "required": ["rows"],
        "properties": {
            "year": {"type": "integer"}, "as_of": {"type": ["string", "null"]}, "by": {"type": "string"},
            "kind": {"enum": ["capital", "current"]}, "unit": {"type": "string"}, "synthetic": {"type": "boolean"},
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
            "kind": {"type": "string"},
            "severity": {"enum": ["critical", "warning", "info"]},
            "project_id": {"type": "integer"},
            "milestone_id": {"type": ["integer", "null"]},
            "message": {"type": "string"},
            "opened_at": {"type": "string", "format": "date-time"},
            "resolved_at": {"type": ["string", "null"], "format": "date-time"},
            "status": {"enum": ["open", "acknowledged", "resolved"]},
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
            "version": {"type": "integer", "description": "The version last read; a stale one gets 409"},
            "status": {"enum": ["not_started", "in_progress", "done", "on_hold", "cancelled"]},
            "percent_complete": {"type": "number", "minimum": 0, "maximum": 100},
            "actual_start": {"type": ["string", "null"], "format": "date"},
            "actual_finish": {"type": ["string", "null"], "format": "date"},
        },
        "additionalProperties": False,
    },
    "FieldErrors": {
        "type": "object", "required": ["error", "status", "fields"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                       "fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    },
    "Conflict": {
        "type": "object", "required": ["error", "status", "current"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                       "current": {"$ref": "#/components/schemas/Milestone"}},
    },
    "KpiList": {
        "type": "object", "required": ["kpis"],
        "properties": {"kpis": {"type": "array", "items": {"$ref": "#/components/schemas/Kpi"}}},
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
}


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_ERRORS = {"401": _json("Error", "No valid Bearer token"), "400": _json("Error", "A bad query parameter")}
_FILTERS = [
    {"name": "system", "in": "query", "schema": {"type": "string"}, "description": "System name (檢察) or code"},
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "year", "in": "query", "schema": {"type": "integer"}, "description": "ROC year the project is active in"},
    {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Words in a name"},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]


def openapi_document() -> dict:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "法務部重要計畫管考系統 API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/projects": {"get": {
                "summary": "Projects and sub-plans with milestones, in plan order",
                "parameters": _FILTERS,
                "responses": {"200": _json("ProjectList", "One page of projects"), **_ERRORS},
            }},
            "/projects/{id}": {"get": {
                "summary": "One project",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json("Project", "The project"), "404": _json("Error", "No such project"),
                              "401": _ERRORS["401"]},
            }},
            "/execution": {"get": {
                "summary": "Execution figures and official rates by a level of the portfolio",
                "parameters": [
                    {"name": "year", "in": "query", "schema": {"type": "integer"}, "description": "ROC year (106)"},
                    {"name": "as_of", "in": "query", "schema": {"type": "string"},
                     "description": "Month-end: 2017-08 or 106-08 (default: the latest month with figures)"},
                    {"name": "by", "in": "query",
                     "schema": {"enum": ["project", "work_plan", "system", "category", "ministry"]}},
                    {"name": "kind", "in": "query", "schema": {"enum": ["capital", "current"]},
                     "description": "Default capital"},
                    {"name": "system", "in": "query", "schema": {"type": "string"}},
                    {"name": "category", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": _json("ExecutionTable", "The rows and their total"), **_ERRORS},
            }},
            "/alerts": {"get": {
                "summary": "Alerts the user may see",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"enum": ["open", "acknowledged", "resolved"]},
                     "description": "Default: every unresolved alert"},
                    {"name": "kind", "in": "query", "schema": {"type": "string"}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {"200": _json("AlertList", "One page of alerts"), **_ERRORS},
            }},
            "/milestones/{id}": {
                "get": {
                    "summary": "One milestone with its version",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": _json("Milestone", "The milestone"), "404": _json("Error", "No such milestone"),
                                  "401": _ERRORS["401"]},
                },
                "patch": {
                    "summary": "Report a milestone's progress (optimistic locking by version)",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/MilestoneUpdate"}}}},
                    "responses": {
                        "200": _json("Milestone", "Saved; the new version"),
                        "400": _json("FieldErrors", "Bad input, field by field"),
                        "401": _ERRORS["401"],
                        "403": _json("Error", "The user may not write to this project"),
                        "404": _json("Error", "No such milestone"),
                        "409": _json("Conflict", "Saved by someone else first; the newer values"),
                    },
                },
            },
            "/kpis": {"get": {
                "summary": "The KPIs of the plan",
                "responses": {"200": _json("KpiList", "All KPIs"), "401": _ERRORS["401"]},
            }},
            "/audit": {"get": {
                "summary": "The audit log, newest first (administrators only)",
                "parameters": [
                    {"name": "user", "in": "query", "schema": {"type": "string"},
                     "description": "The actor's name: an account, or cli, seed, scheduler"},
                    {"name": "action", "in": "query", "schema": {"type": "string"},
                     "description": "An action code (login.failed), or a family ending in a dot (login.)"},
                    {"name": "project", "in": "query", "schema": {"type": "integer"},
                     "description": "A project id: entries about it, its sub-plans, milestones, alerts and figures"},
                    {"name": "from", "in": "query", "schema": {"type": "string"},
                     "description": "First day, ROC (106/7/15) or ISO (2017-07-15), in the configured timezone"},
                    {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "Last day, inclusive"},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": _json("AuditList", "One page of entries"),
                    "400": _json("FieldErrors", "Bad parameters, each named"),
                    "401": _ERRORS["401"],
                    "403": _json("Error", "The token's user is not an administrator"),
                },
            }},
        },
    }
