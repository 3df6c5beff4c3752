"""Generated requests, from the OpenAPI document: whatever is sent, no 5xx, and every answer is as documented.

Hypothesis draws, for every operation, query values (the documented ones, odd numbers, any text), path
ids (real, past the column range, not numbers) and JSON bodies (the documented fields, any JSON, any
bytes). Runs derandomized with a fixed number of examples per operation, so the suite stays fast and
a failure comes back the same each run.
"""
from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import db
from tracker.models import Milestone
from tracker.services import accounts, audit
from test_api_contract import ODD_IDS, ODD_NUMBERS, assert_documented, body_is_valid, operation, query_is_valid
from tracker.web.api.schema import OPERATIONS

#: Examples per operation: enough to reach every parameter's odd values, few enough for ~30 s on PostgreSQL.
EXAMPLES = 100
PROPERTY_SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])

#: Any text a URL can carry (lone surrogates cannot be encoded at all).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
#: Text a text parameter's schema allows (no control characters).
PLAIN_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
ODD_TEXT = st.sampled_from(["", " ", "\x00", "\n", "%", "$x^2$", "'; DROP TABLE projects; --", "../..", "null",
                            "２０１７-０８", "106-13", "0-0", "9999-99", "106/2/30", "x" * 300, *ODD_NUMBERS,
                            # dates and months at and past the calendar's ends
                            "0001-01-01", "9999-12-31", "0000-01", "9999-12", "1/1/1", "300/12/31", "301/1/1",
                            "١٠٦/٧/١", "1911-12", "0-1-1"])


def documented_value(schema: dict) -> st.SearchStrategy[str]:
    """Texts for one query parameter that its schema describes (a date, a month, a number in range, an enum)."""
    examples = st.sampled_from(schema["examples"]).map(str) if "examples" in schema else st.nothing()
    if schema.get("type") == "integer":
        low, high = schema["minimum"], schema["maximum"]
        return (st.integers(low, min(high, low + 400)) | st.sampled_from([low, high])).map(str) | examples
    if schema.get("format") in ("roc-date", "roc-month"):
        month = schema["format"] == "roc-month"
        # the calendar's ends and the ROC range's, the plan's years, and any day
        ends = st.sampled_from([date(1, 1, 1), date(9999, 12, 31), date(1912, 1, 1), date(2211, 12, 31)])
        days = ends | st.dates(date(2016, 1, 1), date(2018, 12, 31)) | st.dates()
        return examples | ends.map(lambda d: f"{d:%Y-%m}" if month else d.isoformat()) | days.flatmap(
            lambda d: st.sampled_from([
            f"{d:%Y-%m}" if month else d.isoformat(),
            f"{d.year - 1911}-{d.month:02d}" if month else f"{d.year - 1911}/{d.month}/{d.day}",
            f"{d.year - 1911}年{d.month}月" if month else f"{d.year - 1911}年{d.month}月{d.day}日"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    return examples | PLAIN_TEXT


def odd_value(schema: dict) -> st.SearchStrategy[str]:
    """Texts for one query parameter: documented ones, just outside the range, and odd text."""
    outside = st.nothing()
    if schema.get("type") == "integer":
        outside = (st.sampled_from([schema["minimum"] - 1, schema["maximum"] + 1, 2**31, 2**63, 10**30])
                   | st.integers()).map(str)
    return documented_value(schema) | outside | ODD_TEXT | TEXT


def query_for(operation_id: str) -> st.SearchStrategy[dict[str, str]]:
    """Some of the operation's query parameters: all documented, any values, or one parameter alone."""
    parameters = [p for p in OPERATIONS[operation_id][2].get("parameters", []) if p["in"] == "query"]
    documented = st.fixed_dictionaries({}, optional={p["name"]: documented_value(p["schema"]) for p in parameters})
    odd = st.fixed_dictionaries({}, optional={**{p["name"]: odd_value(p["schema"]) for p in parameters},
                                              "stray": TEXT})
    # one parameter alone: its edge values reach the code behind it without another parameter's refusal
    alone = (st.sampled_from(parameters).flatmap(lambda p: odd_value(p["schema"]).map(lambda v: {p["name"]: v}))
             if parameters else st.just({}))
    return documented | odd | alone


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
FIELD_VALUES = {
    "version": st.integers(-2, 4) | st.sampled_from([2**31, 2**63, 10**40]) | ANY_JSON,
    "status": st.sampled_from(["not_started", "in_progress", "done", "on_hold", "cancelled", "finished", ""]) | ANY_JSON,
    "percent_complete": st.floats(-10, 110, allow_nan=False) | st.integers(-5, 105) | ANY_JSON,
    "actual_start": st.sampled_from([None, "2017-07-01", "106/7/3", "106年7月3日", "2017-02-30", "2999-01-01", "x"])
    | ANY_JSON,
    "actual_finish": st.sampled_from([None, "2017-08-01", "106/8/1", "2016-01-01", "106-13-01"]) | ANY_JSON,
    "planned_finish": st.just("2018-01-01"),
}
DOCUMENTED_BODY = st.fixed_dictionaries({}, optional=FIELD_VALUES)
BODY = (DOCUMENTED_BODY.map(lambda b: json.dumps(b).encode())
        | ANY_JSON.map(lambda b: json.dumps(b).encode())
        | st.binary(max_size=40)
        | st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n)
        | st.sampled_from([b"", b"{", b'{"version": NaN}', b'{"version": 1, "percent_complete": 1e400}',
                           b'{"version": 1' + b"0" * 5000 + b"}", b"\xef\xbb\xbf{}"]))


@pytest.fixture
def admin_headers(seeded, make_user):
    """The Bearer header of a real administrator (who may call every operation, write included)."""
    make_user("boss", "admin")
    with db.new_session(seeded) as s:
        token, _ = accounts.issue_token(s, "boss", audit.CLI, 90)
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def path_ids(session) -> st.SearchStrategy[str]:
    """Ids for a path: real ones (so the rules run), ids past the range, and what is no id at all."""
    real = list(session.scalars(sa.select(Milestone.id).order_by(Milestone.id).limit(30)))
    return (st.sampled_from(real).map(str) | st.integers(0, 2**70).map(str) | st.sampled_from(ODD_IDS)
            | TEXT.filter(bool).map(lambda t: quote(t, safe="")))


def check(operation_id: str, response, query: dict[str, str]) -> None:
    """No server error; the answer documented; a request the document refuses is refused."""
    assert response.status_code < 500, (operation_id, query, response.data[:300])
    body = assert_documented(operation_id, response)
    if not query_is_valid(operation_id, query) and response.status_code not in (401, 403, 404):
        assert response.status_code == 400, (operation_id, query, body)


@pytest.mark.parametrize("operation_id", [o for o, (m, p, _) in OPERATIONS.items() if m == "get" and "{id}" not in p])
def test_generated_queries_never_fail_and_answer_as_documented(client, admin_headers, operation_id):
    _, path, _ = operation(operation_id)

    @PROPERTY_SETTINGS
    @given(query=query_for(operation_id))
    def run(query):
        response = client.get("/api/v1" + path, query_string=query, headers=admin_headers)
        check(operation_id, response, query)
        if response.status_code == 400 and not query_is_valid(operation_id, query):
            invalid = {name for name in query if not query_is_valid(operation_id, {name: query[name]})}
            assert invalid <= set(response.get_json()["fields"]), (query, response.get_json())

    run()


@pytest.mark.parametrize("operation_id", ["getProject", "getMilestone"])
def test_generated_ids_never_fail(client, admin_headers, session, operation_id):
    _, path, _ = operation(operation_id)

    @PROPERTY_SETTINGS
    @given(ident=path_ids(session))
    def run(ident):
        response = client.get("/api/v1" + path.replace("{id}", ident), headers=admin_headers)
        assert response.status_code in (200, 404), (ident, response.status_code)
        assert_documented(operation_id, response)

    run()


def test_generated_milestone_updates_never_fail(client, admin_headers, session):
    @PROPERTY_SETTINGS
    @given(ident=path_ids(session), data=BODY, as_json=st.booleans() | st.just(True))
    def run(ident, data, as_json):
        response = client.patch(f"/api/v1/milestones/{ident}", data=data, headers=admin_headers,
                                content_type="application/json" if as_json else "text/plain")
        assert response.status_code < 500, (ident, data[:200], response.data[:300])
        assert_documented("updateMilestone", response)
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        refused = not (as_json and isinstance(parsed, dict) and body_is_valid(parsed))
        if refused and response.status_code != 404:
            assert response.status_code in (400, 413), (data[:200], response.get_json())

    run()
