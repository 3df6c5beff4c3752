"""One contract for /api/: every answer is JSON in the documented schema, and requests are checked against it too.

The OpenAPI document and the request validation come from one description (tracker/web/api/schema.py):
these tests send requests that the document accepts or refuses and see the API agree, then validate
every answer against the schema the document gives for that operation and status.
"""
from __future__ import annotations

import io
import re

import jsonschema
import pytest
import sqlalchemy as sa

from tracker import db
from tracker.models import Milestone
from tracker.services import accounts, audit
from tracker.web.api.schema import API_MAX_BODY_BYTES, OPERATIONS, openapi_document
from tracker.web.params import MAX_ID, MAX_JSON_DEPTH

DOCUMENT = openapi_document()
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
#: Odd texts for a whole-number parameter: other scripts' digits, too long, signs, fractions, out of range.
ODD_NUMBERS = ["²", "١٠٦", "１２", "9" * 5000, "0", "-1", "+1", "1.5", "1e3", " 1", "1\n", str(2**63), str(2**31),
               "abc", "\x00"]
ODD_IDS = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "0", "-1", "١٢", "1.0", "abc", "9" * 500]


def schema_validator(schema: dict) -> jsonschema.Validator:
    """A validator for a document schema (refs resolved against the document's components)."""
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]}, format_checker=FORMATS)


def operation(operation_id: str) -> tuple[str, str, dict]:
    """(method, path, operation) as the served document lists it."""
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            if op["operationId"] == operation_id:
                return method, path, op
    raise KeyError(operation_id)


def assert_documented(operation_id: str | None, response) -> dict:
    """The answer is JSON with a status the operation documents, in that status's schema; its body."""
    assert response.mimetype == "application/json", (response.status_code, response.data[:200])
    body = response.get_json()
    if operation_id is None or response.status_code in (404, 405) and "responses" not in operation(operation_id)[2]:
        schema = {"$ref": "#/components/schemas/Error"}
    else:
        responses = operation(operation_id)[2]["responses"]
        assert str(response.status_code) in responses, (operation_id, response.status_code, body)
        schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    schema_validator(schema).validate(body)
    if response.status_code >= 400:
        assert body["status"] == response.status_code and body["error"]
    return body


def query_is_valid(operation_id: str, args: dict[str, str]) -> bool:
    """Would the document accept these query values? (integers as ASCII digits in range, the rest as text)"""
    for parameter in operation(operation_id)[2].get("parameters", []):
        text = args.get(parameter["name"])
        if parameter["in"] != "query" or text in (None, ""):
            continue
        schema = parameter["schema"]
        value = int(text) if schema.get("type") == "integer" and re.fullmatch(r"[0-9]{1,30}", text) else text
        if not schema_validator(schema).is_valid(value):
            return False
    return True


def body_is_valid(body) -> bool:
    """Would the document accept this PATCH body?"""
    return schema_validator({"$ref": "#/components/schemas/MilestoneUpdate"}).is_valid(body)


@pytest.fixture
def tokens(seeded, make_user):
    """Bearer headers of an admin, a reader (leadership) and a 檢察 project manager."""
    headers = {}
    for name, role, system in (("boss", "admin", None), ("reader", "leadership", None), ("pm", "project_manager", "檢察")):
        make_user(name, role, system)
        with db.new_session(seeded) as s:
            token, _ = accounts.issue_token(s, name, audit.CLI, 90)
            s.commit()
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture
def call(client, tokens):
    """call(method, path, who="boss", **kw): a request with that user's token."""
    def _call(method: str, path: str, who: str | None = "boss", **kwargs):
        return client.open(path, method=method, headers=tokens[who] if who else {}, **kwargs)
    return _call


def a_milestone(session, project_name="臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"):
    """A milestone of a 檢察 project."""
    from tracker.models import Project
    return session.scalars(sa.select(Milestone).join(Project).where(Project.name == project_name)
                           .order_by(Milestone.id)).first()


# --- 404, 405, 401, 403: JSON in the Error schema ---------------------------------------------

#: Paths under /api/ that name nothing: no such route, no such version, ids that are no ids or past the range.
NOWHERE = ["/api/v1/nothing", "/api/v2/projects", "/api/", "/api/v1/projects/abc", "/api/v1/projects/1/extra",
           *(f"/api/v1/projects/{i}" for i in ODD_IDS), *(f"/api/v1/milestones/{i}" for i in ODD_IDS)]


def test_a_path_that_names_nothing_is_a_json_404(call):
    for path in NOWHERE:
        for who in ("boss", None):
            response = call("GET", path, who)
            assert response.status_code == 404, (path, who)
            assert_documented(None, response)


def test_ids_past_the_column_range_are_not_found_never_a_database_error(call):
    for operation_id in ("getProject", "getMilestone"):
        _, path, _ = operation(operation_id)
        for value in (MAX_ID, MAX_ID + 1, 2**63 - 1, 2**63, 10**20):
            response = call("GET", "/api/v1" + path.replace("{id}", str(value)))
            assert response.status_code == 404, (path, value)
            assert_documented(operation_id, response)
    response = call("PATCH", f"/api/v1/milestones/{2**63}", json={"version": 1, "percent_complete": 1})
    assert response.status_code == 404


def test_a_method_a_path_does_not_take_is_a_json_405(call):
    for method, path in (("DELETE", "/api/v1/projects"), ("POST", "/api/v1/projects/1"), ("PUT", "/api/v1/milestones/1"),
                         ("POST", "/api/v1/kpis"), ("DELETE", "/api/v1/audit"), ("POST", "/api/v1/openapi.json")):
        for who in ("boss", None):
            response = call(method, path, who)
            assert response.status_code == 405, (method, path, who)
            assert_documented(None, response)
            assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer nope", "Basic Ym9zczpwdw=="])
def test_every_operation_without_a_valid_token_is_a_json_401(client, seeded, header):
    headers = {"Authorization": header} if header else {}
    for operation_id in OPERATIONS:
        method, path, _ = operation(operation_id)
        response = client.open("/api/v1" + path.replace("{id}", "1"), method=method.upper(), headers=headers,
                               json={"version": 1, "percent_complete": 1} if method == "patch" else None)
        assert response.status_code == 401, operation_id
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_documented(operation_id, response)


def test_what_a_user_may_not_do_is_a_json_403(call, session):
    assert_documented("listAudit", call("GET", "/api/v1/audit", "reader"))
    assert call("GET", "/api/v1/audit", "reader").status_code == 403
    m = a_milestone(session)
    response = call("PATCH", f"/api/v1/milestones/{m.id}", "reader", json={"version": 1, "percent_complete": 5})
    assert response.status_code == 403
    assert_documented("updateMilestone", response)


# --- query values: the document and the API agree ---------------------------------------------

def _integer_parameters():
    for operation_id, (_, _, op) in OPERATIONS.items():
        for parameter in op.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                yield operation_id, parameter["name"], parameter["schema"]


@pytest.mark.parametrize("operation_id, name, schema", list(_integer_parameters()),
                         ids=[f"{o}-{n}" for o, n, _ in _integer_parameters()])
def test_every_whole_number_parameter_is_strict_and_named(call, operation_id, name, schema):
    _, path, _ = operation(operation_id)
    path = path.replace("{id}", "1")  # the seed's first programme, listed in 106
    for text in [*ODD_NUMBERS, str(schema["maximum"] + 1), str(schema["minimum"] - 1)]:
        assert not query_is_valid(operation_id, {name: text}), text
        response = call("GET", "/api/v1" + path, query_string={name: text})
        assert response.status_code == 400, (name, text)
        body = assert_documented(operation_id, response)
        assert list(body["fields"]) == [name] and name in body["error"]
    inside = {"per_page": "500", "year": "106", "project": "1"}.get(name, str(schema["minimum"]))
    assert query_is_valid(operation_id, {name: inside})
    assert call("GET", "/api/v1" + path, query_string={name: inside}).status_code == 200, (name, inside)


REFUSED_QUERIES = [
    ("listProjects", {"category": "其他"}), ("listProjects", {"q": "a\x00b"}), ("listProjects", {"system": "x" * 201}),
    ("getExecution", {"by": "agency"}), ("getExecution", {"kind": "both"}), ("getExecution", {"as_of": "\x01"}),
    ("listAlerts", {"status": "closed"}), ("listAlerts", {"kind": "low"}), ("listAudit", {"user": "\x00"}),
    # days and months past the ROC years 1–300 (the calendar's ends overflowed the time-zone arithmetic: a 500)
    ("listAudit", {"from": "0001-01-01"}), ("listAudit", {"to": "9999-12-31"}), ("listAudit", {"from": "301/1/1"}),
    ("getExecution", {"as_of": "9999-12"}), ("getExecution", {"as_of": "0000-01"}), ("getExecution", {"as_of": "1911-12"}),
]


def test_a_value_the_document_refuses_is_a_400_naming_it(call):
    for operation_id, args in REFUSED_QUERIES:
        _, path, _ = operation(operation_id)
        response = call("GET", "/api/v1" + path, query_string=args)
        assert response.status_code == 400, args
        assert set(assert_documented(operation_id, response)["fields"]) == set(args)


def test_every_bad_parameter_is_named_at_once(call):
    response = call("GET", "/api/v1/projects", query_string={"page": "²", "per_page": "0", "year": "١٠٦",
                                                              "category": "x", "q": "\x00"})
    body = assert_documented("listProjects", response)
    assert set(body["fields"]) == {"page", "per_page", "year", "category", "q"}
    assert "年度" in body["fields"]["year"]


ACCEPTED_QUERIES = [
    ("listProjects", {"year": "106", "category": "公共建設", "q": "監獄", "page": "1", "per_page": "5"}),
    ("listProjects", {"status": "", "page": ""}),  # empty is absent
    ("getExecution", {"year": "106", "by": "system", "kind": "current"}),
    ("listAlerts", {"status": "open", "kind": "LOW_EXECUTION"}), ("listAlerts", {"status": ""}),
    ("listAudit", {"action": "login.", "from": "106/1/1", "to": "2017-12-31", "per_page": "3"}),
]


def test_a_request_the_document_accepts_is_answered(call):
    for operation_id, args in ACCEPTED_QUERIES:
        assert query_is_valid(operation_id, args)
        _, path, _ = operation(operation_id)
        response = call("GET", "/api/v1" + path, query_string=args)
        assert response.status_code == 200, args
        assert_documented(operation_id, response)


# --- JSON bodies ------------------------------------------------------------------------------

@pytest.fixture
def patch(call, session):
    """patch(data=..., json=..., content_type=...) on a 檢察 milestone, as its project manager."""
    m = a_milestone(session)
    return lambda **kw: call("PATCH", f"/api/v1/milestones/{m.id}", "pm", **kw)


NOT_AN_OBJECT = [
    (b"", "無法解析"), (b"{", "無法解析"), (b"[1]", "JSON 物件"), (b'"version"', "JSON 物件"), (b"null", "JSON 物件"),
    (b"[" * 50_000, "巢狀"), (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "巢狀"),
    (b'{"version": 1, "x": ' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}", "巢狀"),
    (b'{"version": 1, "percent_complete": NaN}', "NaN"), (b'{"version": 1, "percent_complete": 1' + b"0" * 5000 + b"}",
                                                          "無法解析"),
    (b"\xff\xfe{}", "UTF-8"),
]


def test_a_body_that_is_no_json_object_is_a_400(patch):
    for data, words in NOT_AN_OBJECT:
        response = patch(data=data, content_type="application/json")
        assert response.status_code == 400, data[:40]
        body = assert_documented("updateMilestone", response)
        assert list(body["fields"]) == ["body"] and words in body["fields"]["body"], data[:40]


def test_a_number_past_a_double_is_refused_by_its_range(patch):
    response = patch(data=b'{"version": 1, "percent_complete": 1e400}', content_type="application/json")
    assert response.status_code == 400
    assert list(assert_documented("updateMilestone", response)["fields"]) == ["percent_complete"]


def test_a_body_not_sent_as_json_is_a_400(patch):
    response = patch(data='{"version": 1}', content_type="text/plain")
    assert response.status_code == 400 and "body" in assert_documented("updateMilestone", response)["fields"]


def test_a_body_past_the_limit_is_a_413(patch, client, tokens, session):
    big = b'{"version": 1, "status": "' + b"x" * API_MAX_BODY_BYTES + b'"}'
    response = patch(data=big, content_type="application/json")
    assert response.status_code == 413
    assert "64 KiB" in assert_documented("updateMilestone", response)["error"]
    # without a Content-Length (sent in chunks) the stream is cut at the limit all the same
    m = a_milestone(session)
    chunked = client.patch(f"/api/v1/milestones/{m.id}", input_stream=io.BytesIO(big),
                           headers={**tokens["pm"], "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # as waitress and gunicorn say
    assert chunked.status_code == 413
    assert_documented("updateMilestone", chunked)
    session.expire_all()
    assert session.get(Milestone, m.id).version == 1


BAD_FIELDS = [
    ({"version": 2**63, "percent_complete": 1}, {"version"}),
    ({"version": True, "percent_complete": 1}, {"version"}),
    ({"version": "1", "percent_complete": 1}, {"version"}),
    ({"version": 1, "percent_complete": "50"}, {"percent_complete"}),
    ({"version": 1, "status": ["done"], "actual_start": 20170701, "actual_finish": "x" * 41}, {"status", "actual_start", "actual_finish"}),
    ({"version": 1, "status": "done\x00"}, {"status"}),
    ({"version": 1, "name": "x", "planned_finish": "2018-01-01"}, {"name", "planned_finish"}),
    ({"percent_complete": -1, "status": "finished"}, {"version", "percent_complete", "status"}),
    ({"version": 1, "actual_start": "2017-02-30"}, {"actual_start"}),
    ({"version": 1}, {"body"}),
]


def test_every_bad_field_is_named(patch, session):
    for body, fields in BAD_FIELDS:
        assert not body_is_valid(body) or "actual_start" in fields  # a date that does not exist: the domain's refusal
        response = patch(json=body)
        assert response.status_code == 400, response.get_json()
        assert set(assert_documented("updateMilestone", response)["fields"]) == fields, body
    session.expire_all()
    assert a_milestone(session).version == 1  # nothing was saved


def test_a_body_the_document_accepts_is_saved_and_a_stale_one_is_a_409(patch):
    body = {"version": 1, "status": "in_progress", "percent_complete": 12.5, "actual_start": "106/7/3"}
    assert body_is_valid(body)
    saved = patch(json=body)
    assert saved.status_code == 200
    assert assert_documented("updateMilestone", saved)["version"] == 2
    stale = patch(json={"version": 1, "percent_complete": 20})
    assert stale.status_code == 409
    assert assert_documented("updateMilestone", stale)["current"]["percent_complete"] == 12.5


def test_the_served_document_is_the_description_the_validation_reads(call):
    served = call("GET", "/api/v1/openapi.json")
    assert_documented("getOpenApi", served)
    assert served.get_json() == openapi_document()
    ids = [op["operationId"] for item in served.get_json()["paths"].values() for op in item.values()]
    assert sorted(ids) == sorted(OPERATIONS)
