"""Plan import: the 106 plan read from its text into an empty database, a 107 plan matched to it, every refusal,
the admins' page, and the migration that gave the existing data its plan year."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PLAN_TEXT, SEED_PATH, csrf_token
from seed_compare import JUDGEMENT, PROGRAMME_FIELDS, compare_kpis, compare_programmes

from tracker import db, migrate
from tracker.models import (AuditEntry, Budget, Kpi, Milestone, Plan, PlanEntry, ProgressReport, Project,
                            ProjectKpi)
from tracker.services import accounts, audit, plans, seed

TEXT_106 = PLAN_TEXT.read_text(encoding="utf-8")
SMART = "矯正機關智慧監控系統建置計畫"
KAOHSIUNG = "法務部行政執行署高雄分署辦公廳舍自有化中程計畫"  # its name is split across a page break
TAICHUNG = "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案"
DROPPED = "執行肅貪工作"
NEW = "推動設立毒品防制基金計畫"


def text_107(*, advance: bool = True, extra: str | None = None) -> str:
    """A 107 plan written from the 106 text: fractions advanced, 執行肅貪工作 dropped, one new programme,
    the target of 一-1 raised from 3,800 to 4,000 people."""
    text = TEXT_106.replace("106 年度施政目標與重點", "107 年度施政目標與重點")
    if advance:
        text = re.sub(r"([（(])1/(\d)([）)])", r"\g<1>2/\2\3", text)
    text = text.replace("3,800 人", "4,000 人")
    lines = text.split("\n")
    dropped = next(i for i, line in enumerate(lines) if line.startswith(f"法務行政\t{DROPPED}\t"))
    # the next row (執行反毒策略) carries the work plan on: the dropped row's cell moves to it
    lines[dropped + 1] = "法務行政" + lines[dropped + 1]
    del lines[dropped]
    lines.insert(dropped + 1, f"\t{NEW}\t其它\t一、研議設立毒品防制基金。 二、建立無毒場所標章認證機制。\t加強毒品查緝工作")
    if extra:
        lines.insert(dropped + 2, extra)
    return "\n".join(lines)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def plan_106(app, runner):
    """The 106 plan imported from its text into an empty database (no JSON seed)."""
    result = runner.invoke(["plan", "import", str(PLAN_TEXT), "--year", "106"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def api(plan_106, client, make_user):
    make_user("reader", "leadership")
    with db.new_session(plan_106) as s:
        value, _ = accounts.issue_token(s, "reader", audit.CLI, 90)
        s.commit()

    def get(path: str, **kwargs):
        response = client.get(path, headers={"Authorization": f"Bearer {value}"}, **kwargs)
        assert response.status_code == 200, (path, response.get_json())
        return response.get_json()

    return get


def by_name(projects: list[dict]) -> dict[str, dict]:
    return {p["name"]: p for p in projects if p["parent_id"] is None}


# --------------------------------------------------------------------------------------------- the round trip

def test_the_106_text_gives_what_the_hand_transcription_holds(plan_106, session):
    expected = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    stored = plans.plan_as_seed(session, 106)
    compared = compare_programmes(stored["programmes"], expected["programmes"])
    assert compared == len(expected["programmes"]) * len(PROGRAMME_FIELDS) - len(JUDGEMENT)
    compare_kpis(stored["kpis"], expected["kpis"])
    plan = session.get(Plan, 106)
    assert plan.title == "法務部 106 年度施政目標與重點" and plan.sha256 and len(plan.goals) == 9
    assert session.scalar(sa.select(sa.func.count()).select_from(Project).where(Project.parent_id.is_(None))) == 57
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "plan.import")).one()
    assert entry.entity_id == "106" and entry.changes["new"] == 57


def test_the_json_seed_after_the_text_changes_only_what_a_reader_judged(plan_106, session):
    """Loading the hand transcription over the imported text fills in the judgements (systems, facts), nothing else."""
    result = seed.load_seed_file(session, SEED_PATH)
    session.commit()
    assert result.created["projects"] == 0 and result.created["milestones"] == 2  # programme 40's two paraphrases
    changed = {e.entity_id for e in session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "seed.update",
                                                                               AuditEntry.entity_type == "project"))}
    assert len(changed) >= len({seq for seq, key in JUDGEMENT if key == "systems"})


# ------------------------------------------------------------------------------------------------ a 107 plan

def test_a_107_plan_is_previewed_then_applied_and_programmes_keep_their_identity(api, runner, tmp_path, session):
    before = by_name(api("/api/v1/projects?year=106&per_page=500")["projects"])
    smart_id = before[SMART]["programme_id"]
    taichung_steps = session.scalar(sa.select(sa.func.count()).select_from(Milestone)
                                    .where(Milestone.project_id == before[TAICHUNG]["id"]))
    path = write(tmp_path, "107.txt", text_107())

    dry = runner.invoke(["plan", "import", path, "--year", "107", "--dry-run", "--format", "json"])
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert [item["name"] for item in preview["new"]] == [NEW]
    assert [item["name"] for item in preview["dropped"]] == [DROPPED]
    assert preview["dropped"][0]["programme_id"] == before[DROPPED]["programme_id"]
    continuing = {item["name"]: item for item in preview["continuing"]}
    assert len(continuing) == 56
    assert continuing[SMART]["programme_id"] == smart_id and continuing[SMART]["previous_name"] == SMART
    assert continuing[SMART]["score"] >= 0.85 and continuing[SMART]["phase"] == "2/3"
    assert continuing[KAOHSIUNG]["programme_id"] == before[KAOHSIUNG]["programme_id"]
    kpi_changes = [c for c in preview["changed"] if c["kind"] == "kpi"]
    assert kpi_changes == [{"kind": "kpi", "code": "一-1", "name": "查緝製賣運輸藥頭",
                            "kpi_id": kpi_changes[0]["kpi_id"], "changes": {"target": ["3,800 人", "4,000 人"]}}]
    assert session.get(Plan, 107) is None  # a dry run writes nothing

    applied = runner.invoke(["plan", "import", path, "--year", "107"])
    assert applied.exit_code == 0, applied.output
    assert "1 new, 56 continuing, 1 dropped" in applied.output

    after = by_name(api("/api/v1/projects?year=107&per_page=500")["projects"])
    assert set(after) == set(before) - {DROPPED} | {NEW}
    assert after[SMART]["programme_id"] == smart_id and after[SMART]["year"] == 107
    assert (after[SMART]["phase_index"], after[SMART]["phase_total"]) == (2, 3)
    assert after[KAOHSIUNG]["programme_id"] == before[KAOHSIUNG]["programme_id"]
    assert after[NEW]["code"] == "2" and after[NEW]["work_plan"] == "法務行政"
    assert after[NEW]["programme_id"] not in {p["programme_id"] for p in before.values()}
    # 106 is as it was
    again = by_name(api("/api/v1/projects?year=106&per_page=500")["projects"])
    assert (again[SMART]["phase_index"], again[SMART]["phase_total"]) == (1, 3) and DROPPED in again
    # a step restated by the 107 plan stays one milestone
    assert session.scalar(sa.select(sa.func.count()).select_from(Milestone)
                          .where(Milestone.project_id == before[TAICHUNG]["id"])) == taichung_steps
    assert [m["id"] for m in after[TAICHUNG]["milestones"]] == [m["id"] for m in before[TAICHUNG]["milestones"]]
    # sub-plans keep theirs too, with their own advanced fraction
    subs = {p["sub_code"]: p for p in api("/api/v1/projects?year=107&per_page=500")["projects"]
            if p["parent_id"] == after["法務部調查局前瞻鑑識科技進階計畫"]["id"]}
    assert (subs["計畫1"]["phase_index"], subs["計畫1"]["phase_total"]) == (2, 2)

    kpis_107 = {k["code"]: k for k in api("/api/v1/kpis?year=107")["kpis"]}
    kpis_106 = {k["code"]: k for k in api("/api/v1/kpis?year=106")["kpis"]}
    assert kpis_107["一-1"]["target"] == 4000 and kpis_106["一-1"]["target"] == 3800
    assert kpis_107["一-1"]["kpi_id"] == kpis_106["一-1"]["kpi_id"]

    life = api(f"/api/v1/programmes/{smart_id}")
    assert [(e["year"], e["phase_index"]) for e in life["entries"]] == [(106, 1), (107, 2)]
    assert life["first_year"] == 106 and life["last_year"] == 108


def test_the_pages_follow_the_year_switcher(api, runner, tmp_path, client, auth, session):
    assert runner.invoke(["plan", "import", write(tmp_path, "107.txt", text_107()), "--year", "107"]).exit_code == 0
    auth.login("reader")
    page_107 = client.get("/?year=107").get_data(as_text=True)
    assert "107 年度重要計畫總覽" in page_107 and NEW in page_107 and DROPPED not in page_107
    page_106 = client.get("/?year=106").get_data(as_text=True)
    assert DROPPED in page_106 and NEW not in page_106
    assert 'href="?year=106"' in page_107 and 'href="?year=107"' in page_106  # the switcher offers both years
    smart = session.scalar(sa.select(Project.id).where(Project.name == SMART))
    life = client.get(f"/projects/{smart}").get_data(as_text=True).split("歷年計畫")[1].split("</table>")[0]
    assert f"{SMART}(1/3)" in life and f"{SMART}(2/3)" in life and "1/3" in life and "2/3" in life
    kpis = client.get("/kpis?year=107").get_data(as_text=True)
    assert "4,000 人" in kpis and "106 年：目標 3,800 人" in kpis  # the board compares a KPI across years


# ------------------------------------------------------------------------------------------------- refusals

def _refused(runner, path: str, year: str, *extra: str) -> str:
    result = runner.invoke(["plan", "import", path, "--year", year, *extra])
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    return result.output


def test_a_line_the_parser_cannot_place_is_refused_with_its_number(app, runner, tmp_path, session):
    lines = TEXT_106.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("法務行政\t執行肅貪工作"))
    lines.insert(at + 1, "這一行不屬於任何欄位")
    output = _refused(runner, write(tmp_path, "bad.txt", "\n".join(lines)), "106")
    assert f"line {at + 2}" in output and "這一行不屬於任何欄位" in output
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_a_broken_table_is_refused(app, runner, tmp_path, session):
    text = TEXT_106.replace("\t執行反毒策略\t其它\t", "\t執行反毒策略\t", 1)
    output = _refused(runner, write(tmp_path, "broken.txt", text), "106")
    assert "表格欄數不符" in output
    assert session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_a_fraction_that_goes_backwards_is_refused(plan_106, runner, tmp_path, session):
    output = _refused(runner, write(tmp_path, "107.txt", text_107(advance=False)), "107")
    assert "計畫階段倒退" in output and SMART in output and "(1/3)" in output
    assert session.get(Plan, 107) is None


def test_a_year_already_loaded_is_refused_without_replace(plan_106, runner, session):
    ids = sorted(session.scalars(sa.select(Project.id)))
    output = _refused(runner, str(PLAN_TEXT), "106")
    assert "已載入" in output and "--replace" in output
    replaced = runner.invoke(["plan", "import", str(PLAN_TEXT), "--year", "106", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    session.expire_all()
    assert sorted(session.scalars(sa.select(Project.id))) == ids  # replacing keeps every programme's identity
    assert session.scalar(sa.select(sa.func.count()).select_from(PlanEntry)) == len(ids)


def test_a_title_of_another_year_is_refused(app, runner, session):
    output = _refused(runner, str(PLAN_TEXT), "107")
    assert "line" in output and "106" in output
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_an_ambiguous_match_waits_for_a_mapping(plan_106, runner, tmp_path, session):
    renamed = "矯正機關智慧化監控管理系統建置計畫"
    text = text_107().replace(f"{SMART}(2/3)", f"{renamed}(2/3)")
    path = write(tmp_path, "107.txt", text)
    dry = json.loads(runner.invoke(["plan", "import", path, "--year", "107", "--dry-run", "--format", "json"]).output)
    ambiguous = {a["name"]: a for a in dry["ambiguous"]}
    smart_id = session.scalar(sa.select(Project.id).where(Project.name == SMART))
    if renamed in ambiguous:
        assert smart_id in [c["programme_id"] for c in ambiguous[renamed]["candidates"]]
        output = _refused(runner, path, "107")
        assert "對照檔" in output
    code = next(item["code"] for item in [*dry["ambiguous"], *dry["continuing"], *dry["new"]] if item["name"] == renamed)
    mapping = write(tmp_path, "mapping.json", json.dumps({code: smart_id}))
    result = runner.invoke(["plan", "import", path, "--year", "107", "--mapping", mapping])
    assert result.exit_code == 0, result.output
    entry = session.scalar(sa.select(PlanEntry).where(PlanEntry.year_roc == 107, PlanEntry.name == renamed))
    assert entry.project_id == smart_id


def test_a_bad_mapping_file_is_refused(plan_106, runner, tmp_path):
    path = write(tmp_path, "107.txt", text_107())
    output = _refused(runner, path, "107", "--mapping", write(tmp_path, "m.json", "[1, 2]"))
    assert "對照檔" in output
    output = _refused(runner, path, "107", "--mapping", write(tmp_path, "m2.json", json.dumps({"25": 999999})))
    assert "999999" in output


def test_a_file_that_is_not_utf8_is_refused(app, runner, tmp_path):
    path = tmp_path / "big5.txt"
    path.write_bytes(TEXT_106.encode("big5", errors="replace"))
    assert "UTF-8" in _refused(runner, str(path), "106")


# ---------------------------------------------------------------------------------------------- the page

def test_admins_preview_then_confirm_a_plan_on_the_page(plan_106, client, auth, make_user, tmp_path, session):
    make_user("boss", "admin")
    make_user("officer", "budget_officer")
    auth.login("officer")
    assert client.get("/admin/plans").status_code == 403
    auth.logout()
    auth.login("boss")
    page = client.get("/admin/plans").get_data(as_text=True)
    assert "法務部 106 年度施政目標與重點" in page
    response = client.post("/admin/plans", data={
        "csrf_token": csrf_token(page), "year": "107",
        "file": (io.BytesIO(text_107().encode("utf-8")), "107.txt")}, content_type="multipart/form-data")
    preview = response.get_data(as_text=True)
    assert response.status_code == 200, preview
    assert "尚未寫入任何資料" in preview and NEW in preview and DROPPED in preview and "4,000 人" in preview
    assert session.get(Plan, 107) is None
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)
    done = client.post("/admin/plans/confirm", data={"csrf_token": csrf_token(preview), "token": token})
    assert done.status_code == 302
    assert "已載入 107 年度計畫" in client.get(done.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.get(Plan, 107) is not None
    # the same preview cannot be applied twice
    again = client.post("/admin/plans/confirm", data={"csrf_token": csrf_token(preview), "token": token})
    assert again.status_code == 409


def test_a_refused_plan_on_the_page_names_its_lines(app, client, auth, make_user, session):
    make_user("boss", "admin")
    auth.login("boss")
    page = client.get("/admin/plans").get_data(as_text=True)
    bad = TEXT_106.replace("\t執行反毒策略\t其它\t", "\t執行反毒策略\t", 1)
    response = client.post("/admin/plans", data={
        "csrf_token": csrf_token(page), "year": "106",
        "file": (io.BytesIO(bad.encode("utf-8")), "106.txt")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "表格欄數不符" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


# ----------------------------------------------------------------------------------------------- migration

def test_the_migration_gives_existing_data_its_plan_year_and_back(seeded, session, make_user):
    """Data loaded before plan years (0010) gets its year's plan, entries and KPI targets, and loses nothing
    on the way down and up again."""
    user = make_user("pm", "admin")
    project = session.scalar(sa.select(Project).where(Project.name == SMART))
    session.add(ProgressReport(project_id=project.id, year_roc=106, month=3, actual_percent=10, submitted_by_id=user.id))
    session.add(Budget(project_id=project.id, year_roc=106, kind="capital", original=1000))
    session.commit()
    engine = db.get_engine(seeded)
    counts = {m.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(m))
              for m in (Project, Milestone, Kpi, ProjectKpi, ProgressReport, Budget)}
    session.close()
    migrate.downgrade(engine, "0010")
    with engine.connect() as connection:
        assert "plan_entries" not in sa.inspect(connection).get_table_names()
        assert connection.scalar(sa.text("SELECT count(*) FROM projects")) == counts["projects"]
    migrate.upgrade(engine)
    with db.new_session(seeded) as s:
        assert {m.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(m))
                for m in (Project, Milestone, Kpi, ProjectKpi, ProgressReport, Budget)} == counts
        assert s.scalar(sa.select(sa.func.count()).select_from(PlanEntry).where(PlanEntry.year_roc == 106)) \
            == counts["projects"]
        entry = s.scalar(sa.select(PlanEntry).where(PlanEntry.project_id == project.id))
        assert (entry.phase_index, entry.phase_total, entry.code) == (1, 3, project.code)
        assert len(entry.kpi_links) == 1 and s.get(Plan, 106) is not None
        stored = plans.plan_as_seed(s, 106)
    expected = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    compare_kpis(stored["kpis"], expected["kpis"])
    assert [p["name"] for p in stored["programmes"]] == [p["name"] for p in expected["programmes"]]


def test_replace_removes_a_programme_the_text_no_longer_lists_only_when_nothing_hangs_under_it(
        plan_106, runner, tmp_path, session):
    without = write(tmp_path, "106.txt", text_107().replace("107 年度施政目標與重點", "106 年度施政目標與重點")
                    .replace("(2/3)", "(1/3)").replace("（2/4）", "（1/4）").replace("(2/4)", "(1/4)")
                    .replace("（2/2）", "（1/2）").replace("（2/3）", "（1/3）"))
    dropped = session.scalar(sa.select(Project.id).where(Project.name == DROPPED))
    session.add(Budget(project_id=dropped, year_roc=106, kind="current", original=100))
    session.commit()
    output = _refused(runner, without, "106", "--replace")
    assert DROPPED in output and "不能刪除" in output
    session.execute(sa.delete(Budget))
    session.commit()
    result = runner.invoke(["plan", "import", without, "--year", "106", "--replace"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Project, dropped) is None
    assert session.scalar(sa.select(Project.id).where(Project.name == NEW)) is not None
    smart = session.scalar(sa.select(Project).where(Project.name == SMART))
    assert (smart.phase_index, smart.phase_total) == (1, 3)


def test_a_plan_code_names_the_programme_of_the_row_s_own_year(api, runner, tmp_path, session):
    """107's 序號 2 is the new programme, 106's is 執行反毒策略: a month-end or budget row by code lands on the
    programme that year's plan numbers so, never on the one that holds the number now."""
    from test_ledger_import import BUDGET_HEADER, csv_bytes

    assert runner.invoke(["plan", "import", write(tmp_path, "107.txt", text_107()), "--year", "107"]).exit_code == 0
    budgets = tmp_path / "budgets.csv"
    budgets.write_bytes(csv_bytes([BUDGET_HEADER, ["2", "106", "經常門", "1", "0", "0"],
                                   ["2", "107", "經常門", "2", "0", "0"]]))
    result = runner.invoke(["ledger", "import", str(budgets)])
    assert result.exit_code == 0, result.output
    by_year = dict(session.execute(sa.select(Budget.year_roc, Project.name).join(Project, Project.id == Budget.project_id)).all())
    assert by_year == {106: "執行反毒策略", 107: NEW}
    # and the execution table of each year shows the programme under that year's code
    for year, name in ((106, "執行反毒策略"), (107, NEW)):
        rows = api(f"/api/v1/execution?year={year}&by=project&kind=current")["rows"]
        assert [(r["code"], r["key"]) for r in rows] == [("2", name)]


def test_the_month_end_template_of_a_year_numbers_its_programmes_as_that_year_s_plan(plan_106, runner, tmp_path):
    assert runner.invoke(["plan", "import", write(tmp_path, "107.txt", text_107()), "--year", "107"]).exit_code == 0
    for year, second in ((106, "執行反毒策略"), (107, NEW)):
        out = tmp_path / f"budgets-{year}.csv"
        result = runner.invoke(["ledger", "template", "budgets", "--year", str(year), "-o", str(out)])
        assert result.exit_code == 0, result.output
        rows = out.read_text(encoding="utf-8-sig").splitlines()
        code_2 = next(row for row in rows if row.startswith("2,"))
        assert second in code_2, (year, code_2)
    listed_107 = (tmp_path / "budgets-107.csv").read_text(encoding="utf-8-sig")
    assert DROPPED not in listed_107 and NEW in listed_107
