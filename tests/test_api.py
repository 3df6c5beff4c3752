"""API v1: Bearer tokens, the projects and KPIs contract, and the OpenAPI document that describes it."""
from __future__ import annotations

import re

import jsonschema
import pytest
import sqlalchemy as sa

from tracker import db
from tracker.models import ApiToken
from tracker.services import accounts, audit


@pytest.fixture
def token(seeded, make_user):
    make_user("reader", "leadership")
    with db.new_session(seeded) as s:
        value, _ = accounts.issue_token(s, "reader", audit.CLI, 90)
        s.commit()
    return value


@pytest.fixture
def api(client, token):
    def get(path: str, **kwargs):
        return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    return get


def validator_for(client, api, schema_name: str) -> jsonschema.Validator:
    document = api("/api/v1/openapi.json").get_json()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer not-a-token", "Basic cmVhZGVyOnB3", "trk_abc"])
def test_without_a_valid_token_401(seeded, client, token, header):
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/v1/projects", "/api/v1/projects/1", "/api/v1/kpis", "/api/v1/openapi.json"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Bearer" in response.get_json()["error"]


def test_session_cookie_is_not_a_token(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.get("/api/v1/projects").status_code == 401


def test_token_of_a_deactivated_user_is_refused(seeded, client, token, session):
    row = session.scalars(sa.select(ApiToken)).one()
    row.user.is_active = False
    session.commit()
    assert client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_the_hash_of_a_token_is_stored(token, session):
    row = session.scalars(sa.select(ApiToken)).one()
    assert token not in row.token_hash and len(row.token_hash) == 64


def test_projects_contract(client, api):
    response = api("/api/v1/projects")
    assert response.status_code == 200
    body = response.get_json()
    validator_for(client, api, "ProjectList").validate(body)
    projects = body["projects"]
    assert body["total"] == 73 and len(projects) == 73  # 57 programmes and 16 sub-plans
    assert sum(1 for p in projects if p["parent_id"] is None) == 57
    taichung = next(p for p in projects if p["name"].endswith("臺中分署擴遷建辦公廳舍計畫案"))
    assert taichung["work_plan"] == "檢察機關擴(遷)建計畫"
    assert taichung["systems"] == ["檢察", "行政執行"]
    assert taichung["kpis"] == ["檢察官辦案日數"]
    assert (taichung["phase_index"], taichung["phase_total"]) == (None, None)
    assert [(m["planned_start"], m["planned_finish"]) for m in taichung["milestones"]][2] == ("2019-01-01", "2020-12-31")
    m = taichung["milestones"][0]
    assert (m["status"], m["percent_complete"], m["version"], m["actual_start"]) == ("not_started", 0, 1, None)
    forensic = next(p for p in projects if p["name"] == "法務部調查局前瞻鑑識科技進階計畫")
    subs = [p for p in projects if p["parent_id"] == forensic["id"]]
    assert [(s["sub_code"], s["phase_index"], s["phase_total"]) for s in subs][:2] == [("計畫1", 1, 2), ("計畫2", 1, 4)]
    # sub-plans follow their programme
    index = projects.index(forensic)
    assert [p["parent_id"] for p in projects[index + 1:index + 6]] == [forensic["id"]] * 5


def test_one_project_same_fields(client, api):
    listed = api("/api/v1/projects?per_page=5").get_json()["projects"][3]
    one = api(f"/api/v1/projects/{listed['id']}")
    assert one.status_code == 200
    validator_for(client, api, "Project").validate(one.get_json())
    assert one.get_json() == listed


def test_paging_and_filters(api):
    body = api("/api/v1/projects?per_page=10&page=8").get_json()
    assert (body["page"], body["per_page"], body["total"], len(body["projects"])) == (8, 10, 73, 3)
    corrections = api("/api/v1/projects?system=矯正").get_json()
    assert corrections["total"] == 5
    assert api("/api/v1/projects?per_page=0").status_code == 400
    bad = api("/api/v1/projects?year=abc")
    assert bad.status_code == 400 and "年度" in bad.get_json()["error"]


def test_missing_project_404_json(api):
    response = api("/api/v1/projects/999999")
    assert response.status_code == 404
    assert "999999" in response.get_json()["error"]


def test_kpis_contract(client, api):
    body = api("/api/v1/kpis").get_json()
    validator_for(client, api, "KpiList").validate(body)
    assert len(body["kpis"]) == 16
    days = next(k for k in body["kpis"] if k["name"] == "檢察官辦案日數")
    assert (days["goal"], days["target"], days["unit"], days["direction"]) == ("提升檢察效能、創新資訊服務價值", 52, "日", "at_most")


def test_openapi_document_describes_every_route(api, seeded):
    document = api("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(f"/api/v1{path}", method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1).endswith("_id") else "{" + m.group(1) + "}", r.rule), method) for r in seeded.url_map.iter_rules()
              if r.rule.startswith("/api/v1/")
              for method in r.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_contract_check_can_fail(client, api):
    body = api("/api/v1/projects?per_page=1").get_json()
    body["projects"][0]["milestones"] = [{"id": 1}]
    with pytest.raises(jsonschema.ValidationError):
        validator_for(client, api, "ProjectList").validate(body)
