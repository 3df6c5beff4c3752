"""The 106 plan as read from its text against its hand transcription (seeds/projects_106.json), field by field.

Shared by the parser's test (text → records) and the import's (text → database → records).
"""
from __future__ import annotations

#: (programme seq, field) where the hand transcription holds a reader's judgement no general rule reaches.
#: The README lists the same fields ("Plan years", round trip).
JUDGEMENT = {
    # 「執行肅貪工作」 names no agency (name, work plan 法務行政, content); the reader knew prosecutors do it.
    (1, "systems"),
    # 「執行反毒策略」: 「各查緝機關」 names no agency; the reader assigned 檢察 and 調查.
    (2, "systems"),
    # 「結合檢、警、調之執法力量」 names 調 as 「檢警調」 does in programme 4 (which the JSON gives 調查);
    # the reader judged it cooperation here, not an owning system.
    (3, "systems"),
    # Two steps the reader paraphrased: 「期滿日為 106 年 3 月 27 日止」 (not at the start of an item) became
    # 「和解履約期間期滿」, and 「修正計畫期程至 106 年」 became 「獲行政院核定個案計畫」.
    (40, "milestones"),
    # 亞太電信 通訊監察 systems: no agency is written; the reader knew 調查局 runs communications surveillance.
    (44, "systems"),
    (45, "systems"),
}

PROGRAMME_FIELDS = ("seq", "work_plan", "name", "name_as_written", "category", "systems", "kpis", "phase",
                    "first_year", "last_year", "content", "milestones", "sub_plans")
SUB_PLAN_FIELDS = ("code", "name", "description", "agency", "phase", "first_year", "last_year", "milestones")
MILESTONE_FIELDS = ("name", "source", "planned_start", "planned_finish")


def compare_milestones(got: list, want: list, where: str) -> None:
    """Every step's fields, with the step named on failure."""
    assert len(got) == len(want), f"{where}.milestones: {len(got)} steps, expected {len(want)}: {got!r}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        for key in MILESTONE_FIELDS:
            assert g.get(key) == w.get(key), f"{where}.milestones[{i}].{key}: {g.get(key)!r} != {w.get(key)!r}"


def compare_programmes(got_programmes: list, expected_programmes: list) -> int:
    """Every programme's fields (sub-plans and steps included) but the judgements; how many were compared."""
    compared = 0
    assert len(got_programmes) == len(expected_programmes)
    for got, want in zip(got_programmes, expected_programmes, strict=True):
        seq = want["seq"]
        for key in PROGRAMME_FIELDS:
            if (seq, key) in JUDGEMENT:
                continue
            where = f"programme {seq}"
            if key == "milestones":
                compare_milestones(got["milestones"], want["milestones"], where)
            elif key == "sub_plans":
                assert len(got["sub_plans"]) == len(want["sub_plans"]), f"{where}.sub_plans: count"
                for g, w in zip(got["sub_plans"], want["sub_plans"], strict=True):
                    for sub_key in SUB_PLAN_FIELDS:
                        sub_where = f"{where}.sub_plans[{w['code']}]"
                        if sub_key == "milestones":
                            compare_milestones(g["milestones"], w["milestones"], sub_where)
                        else:
                            assert g.get(sub_key) == w.get(sub_key), \
                                f"{sub_where}.{sub_key}: {g.get(sub_key)!r} != {w.get(sub_key)!r}"
            else:
                assert got.get(key) == want.get(key), f"{where}.{key}: {got.get(key)!r} != {want.get(key)!r}"
            compared += 1
    return compared


def compare_kpis(got_kpis: list, expected_kpis: list) -> None:
    """Every KPI's every field."""
    assert len(got_kpis) == len(expected_kpis)
    for got, want in zip(got_kpis, expected_kpis, strict=True):
        assert set(got) == set(want), f"KPI {want['code']}: fields {sorted(set(got) ^ set(want))}"
        for key in want:
            assert got[key] == want[key], f"KPI {want['code']}.{key}: {got[key]!r} != {want[key]!r}"
