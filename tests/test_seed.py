"""The seed: the 106 plan as written, loaded whole or not at all, and loaded twice changes nothing."""
from __future__ import annotations

import copy
import json
import re
from datetime import date

import pytest
import sqlalchemy as sa

from conftest import PLAN_TEXT, SEED_PATH
from tracker.models import AuditEntry, Kpi, Milestone, Project, System, WorkPlan
from tracker.services import seed


def _squash(text: str) -> str:
    """Text without whitespace and markup, to compare with the PDF-to-text source."""
    return re.sub(r"\s+|<p>|</p>", "", text)


def appears_in(needle: str, haystack: str, max_pieces: int = 3, max_gap: int = 250) -> bool:
    """Whether the text appears in the source, allowing a table cell to wrap into a few pieces
    separated by the neighbouring cells (as the PDF-to-text dump has it)."""

    def search(rest: str, after: int | None, pieces_left: int) -> bool:
        if not rest:
            return True
        if pieces_left == 0:
            return False
        for k in range(len(rest), min(len(rest), 3) - 1, -1):
            piece, start = rest[:k], (after or 0)
            while (found := haystack.find(piece, start)) >= 0:
                if after is not None and found - after > max_gap:
                    break
                if search(rest[k:], found + k, pieces_left - 1):
                    return True
                start = found + 1
        return False

    return search(_squash(needle), None, max_pieces)


@pytest.fixture(scope="module")
def plan_text() -> str:
    return _squash(PLAN_TEXT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed_data() -> dict:
    return json.loads(SEED_PATH.read_text(encoding="utf-8"))


def by_name(session, name: str) -> Project:
    return session.scalars(sa.select(Project).where(Project.name == name)).one()


def spans(project: Project) -> list[tuple[date, date]]:
    return [(m.planned_start_on, m.planned_finish_on) for m in project.milestones]


def test_all_57_programmes_and_16_kpis_load(seeded, session):
    top = session.scalars(sa.select(Project).where(Project.parent_id.is_(None)).order_by(Project.seq)).all()
    assert len(top) == 57
    assert [p.seq for p in top] == list(range(1, 58))
    assert session.scalar(sa.select(sa.func.count()).select_from(Kpi)) == 16
    assert [s.name for s in session.scalars(sa.select(System).order_by(System.sort_order))] == [
        "檢察", "調查", "矯正", "行政執行", "廉政", "部本部"]
    assert top[0].name == "執行肅貪工作" and top[-1].name == "檢察卷證數位化暨獄政假釋無紙化計畫"


def test_names_milestone_sources_and_measures_are_the_plans_words(seed_data, plan_text):
    for programme in seed_data["programmes"]:
        assert appears_in(programme["name_as_written"], plan_text), programme["seq"]
        assert appears_in(programme["work_plan"], plan_text), programme["seq"]
        for milestone in programme["milestones"]:
            assert appears_in(milestone["source"], plan_text), (programme["seq"], milestone["source"])
        for sub in programme["sub_plans"]:
            assert appears_in(sub["name"], plan_text), (programme["seq"], sub["code"])
    for kpi in seed_data["kpis"]:
        assert appears_in(kpi["name"], plan_text) and appears_in(kpi["measure"], plan_text), kpi["code"]
        assert _squash(kpi["target_text"]) in plan_text
    for invented in ("臺灣新北地方法院檢察署遷建計畫", "法務部矯正署臺北監獄擴建計畫", "107 年 1 月至 3 月辦理委託專案管理廠商代辦採購事宜"):
        assert not appears_in(invented, plan_text), invented  # the check can fail


def test_taichung_relocation_runs_106_to_110(seeded, session):
    project = by_name(session, "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案")
    assert project.work_plan.name == "檢察機關擴(遷)建計畫"
    assert project.category == "公共建設"
    assert [s.name for s in project.systems] == ["檢察", "行政執行"]
    assert [link.written_name for link in project.kpi_links] == ["檢察官辦案日數"]
    assert (project.first_year_roc, project.last_year_roc) == (106, 110)
    assert spans(project) == [
        (date(2017, 1, 1), date(2017, 12, 31)),   # 106 年成立興建委員會…
        (date(2018, 1, 1), date(2018, 12, 31)),   # 107 年委聘建築師…
        (date(2019, 1, 1), date(2020, 12, 31)),   # 108 至 109 年工程進度之監督…
        (date(2021, 1, 1), date(2021, 12, 31)),   # 預計 110 年搬遷落成
    ]
    assert project.milestones[2].source_text.startswith("108 至 109 年工程進度之監督")


def test_boai_refit_milestones_by_month(seeded, session):
    project = session.scalars(sa.select(Project).where(Project.name.like("%博一大樓辦公廳舍%"))).one()
    assert project.category == "社會發展"
    assert spans(project) == [
        (date(2017, 1, 1), date(2017, 3, 31)),
        (date(2017, 4, 1), date(2017, 6, 30)),
        (date(2017, 7, 1), date(2017, 12, 31)),
    ]
    assert project.milestones[0].name == "辦理委託專案管理廠商代辦採購事宜"
    # the baseline is the plan's date until someone re-plans
    assert all((m.baseline_start_on, m.baseline_finish_on) == (m.planned_start_on, m.planned_finish_on)
               for m in project.milestones)


def test_phase_fractions_and_sub_plans(seeded, session):
    monitoring = by_name(session, "矯正機關智慧監控系統建置計畫")
    assert (monitoring.phase_index, monitoring.phase_total) == (1, 3)
    assert (monitoring.first_year_roc, monitoring.last_year_roc) == (106, 108)
    assert monitoring.work_plan.name == "司法科技業務" and monitoring.category == "科技發展"
    assert [s.name for s in monitoring.systems] == ["矯正"]

    forensic = by_name(session, "法務部調查局前瞻鑑識科技進階計畫")
    assert (forensic.phase_index, forensic.phase_total) == (1, 4)
    assert [(s.sub_code, s.phase_index, s.phase_total) for s in forensic.sub_plans] == [
        ("計畫1", 1, 2), ("計畫2", 1, 4), ("計畫3", 1, 3), ("計畫4", 1, 4), ("計畫5", 1, 4)]
    assert forensic.sub_plans[2].name == "聲紋鑑識量能提升計畫"
    assert all(spans(s) == [(date(2017, 1, 1), date(2017, 12, 31))] for s in forensic.sub_plans)

    medical = by_name(session, "提昇法醫鑑識量能計畫")
    assert (medical.phase_index, medical.phase_total) == (1, 4)
    assert [f"{s.phase_index}/{s.phase_total}" for s in medical.sub_plans] == [
        "1/4", "1/4", "1/2", "1/4", "1/4", "1/4", "1/2", "1/2", "1/3"]
    assert all(s.parent_id == medical.id for s in medical.sub_plans)

    tech = by_name(session, "運用科技方法提升檢察機關偵查及行政管理效能計畫")
    assert [s.sub_code for s in tech.sub_plans] == ["計畫1", "計畫2"]
    assert tech.sub_plans[0].agency == "臺北地檢署"


def test_kpi_links_as_written(seeded, session):
    assert [l.written_name for l in by_name(session, "執行反毒策略").kpi_links] == ["查緝製賣運輸藥頭", "加強毒品查緝工作"]
    assert by_name(session, "實施更生人認輔制度，推動個人及家庭整合性服務").kpi_links == []
    # the plan misspells the KPI here (勞動力 for 勞動人): kept as written, linked to the right KPI
    link = by_name(session, "推動一路相伴法律協助計畫").kpi_links[0]
    assert link.written_name == "社會勞動力及法律協助專案使用者滿意度調查"
    assert link.kpi.code == "六-1" and link.kpi.name == "社會勞動人及法律協助專案使用者滿意度調查"


def test_blank_work_plan_cell_continues_the_one_above(seeded, session):
    joint = session.scalars(sa.select(Project).where(Project.name.like("財政部高雄國稅局%"))).one()
    assert joint.work_plan.name == "廉政業務"
    yilan = by_name(session, "法務部矯正署宜蘭監獄擴建計畫")
    assert yilan.work_plan.name == "改善監所計畫" and yilan.category == "社會發展"
    assert yilan.facts["added_capacity_persons"] == 1080
    assert by_name(session, "法務部矯正署雲林第二監獄擴建計畫").work_plan.name == "改善監所計畫"


def test_kpis_target_and_direction(seeded, session):
    kpis = {k.code: k for k in session.scalars(sa.select(Kpi))}
    assert (kpis["一-1"].target_value, kpis["一-1"].unit, kpis["一-1"].direction) == (3800, "人", "at_least")
    assert (kpis["四-1"].name, kpis["四-1"].target_value, kpis["四-1"].direction) == ("檢察官辦案日數", 52, "at_most")
    assert (kpis["五-1"].target_text, kpis["五-1"].direction) == ("11% 以下", "at_most")
    assert (kpis["九-1"].name, kpis["九-1"].target_value, kpis["九-1"].direction) == ("機關年度資本門預算執行率", 90, "at_least")
    assert kpis["九-2"].direction == "at_most"
    assert str(kpis["三-2"].target_value.normalize()) == "87.02"
    assert {k.goal_no for k in kpis.values()} == set(range(1, 10))


def test_no_money_in_the_seed(seed_data):
    text = json.dumps(seed_data, ensure_ascii=False)
    assert "budget" not in text and "預算數" not in text.replace("資本門預算數", "")


def _snapshot(session) -> dict:
    return {
        "projects": session.execute(sa.select(Project.id, Project.name, Project.category, Project.work_plan_id,
                                              Project.phase_index, Project.updated_at).order_by(Project.id)).all(),
        "milestones": session.execute(sa.select(Milestone.id, Milestone.planned_start_on, Milestone.version,
                                                Milestone.updated_at).order_by(Milestone.id)).all(),
        "kpis": session.execute(sa.select(Kpi.id, Kpi.name).order_by(Kpi.id)).all(),
        "work_plans": session.execute(sa.select(WorkPlan.id, WorkPlan.name).order_by(WorkPlan.id)).all(),
        "audit": session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
    }


def test_init_twice_changes_nothing(app, runner, session):
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "created" in first.output and "73 projects" in first.output
    before = _snapshot(session)
    session.expire_all()
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    session.expire_all()
    assert _snapshot(session) == before


def _write(tmp_path, data) -> str:
    path = tmp_path / "bad_seed.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["programmes"][34]["milestones"][2].update(planned_finish="2019-13-01"),
     "$.programmes[34].milestones[2].planned_finish"),
    (lambda d: d["programmes"][24].update(category="公共工程"), "$.programmes[24].category"),
    (lambda d: d["programmes"][0]["kpis"].__setitem__(0, "不存在的指標"), "$.programmes[0].kpis[0]"),
    (lambda d: d["programmes"][1]["kpis"].append("提升貪瀆定罪率"), "$.programmes[1].kpis: "),
    (lambda d: d["programmes"][33]["milestones"][0].update(planned_start="2017-05-01", planned_finish="2017-03-31"),
     "$.programmes[33].milestones[0].planned_finish"),
    (lambda d: d["programmes"][24].update(phase={"index": 4, "total": 3}), "$.programmes[24].phase"),
    (lambda d: d["programmes"][5].pop("work_plan"), "$.programmes[5]"),
    (lambda d: d["programmes"][7].update(systems=["法院"]), "$.programmes[7].systems[0]"),
    (lambda d: d["kpis"][0].update(direction="more"), "$.kpis[0].direction"),
])
def test_malformed_seed_is_refused_with_the_path_and_nothing_written(app, runner, session, seed_data, tmp_path,
                                                                       mutate, expected):
    bad = copy.deepcopy(seed_data)
    mutate(bad)
    result = runner.invoke(args=["init", "--seed", _write(tmp_path, bad)])
    assert result.exit_code == 1
    assert expected in result.output
    assert "nothing was written" in result.output
    assert "Traceback" not in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Kpi)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_malformed_seed_leaves_a_loaded_database_as_it_was(seeded, runner, session, seed_data, tmp_path):
    before = _snapshot(session)
    bad = copy.deepcopy(seed_data)
    bad["programmes"][0]["name"] = "已改名"          # a valid change …
    bad["programmes"][56]["milestones"][0]["planned_start"] = "106/1/1"  # … in the same file as a bad date
    result = runner.invoke(args=["init", "--seed", _write(tmp_path, bad)])
    assert result.exit_code == 1
    assert "$.programmes[56].milestones[0].planned_start" in result.output
    session.expire_all()
    assert _snapshot(session) == before


def test_broken_json_names_line_and_column(app, runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1,\n "programmes": [,]}', encoding="utf-8")
    result = runner.invoke(args=["init", "--seed", str(path)])
    assert result.exit_code == 1
    assert "line 2, column" in result.output


def test_corrected_seed_updates_only_what_changed_and_audits_it(seeded, session, seed_data):
    fixed = copy.deepcopy(seed_data)
    fixed["programmes"][24]["category"] = "社會發展"
    result = seed.load_seed(session, fixed)
    session.commit()
    assert result.updated == {"projects": 1} and not result.created
    project = by_name(session, "矯正機關智慧監控系統建置計畫")
    assert project.category == "社會發展"
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "seed.update")).one()
    assert entry.entity_id == str(project.id) and entry.changes == {"category": ["科技發展", "社會發展"]}
