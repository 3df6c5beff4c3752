"""The annual plan text read into a seed: the 106 file against its hand transcription, refusals, a 107 text."""
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seed_compare import JUDGEMENT, PROGRAMME_FIELDS, compare_kpis, compare_programmes

from tracker.domain.plan_text import PlanText, infer_systems, parse_plan_text
from tracker.services.seed import validate_seed

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "seeds" / "source" / "000_bb5b647293294e5c.txt"
SEED = ROOT / "seeds" / "projects_106.json"



@pytest.fixture(scope="module")
def text() -> str:
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(text) -> PlanText:
    return parse_plan_text(text, year_roc=106, filename=SOURCE.name)


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(SEED.read_text(encoding="utf-8"))


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def edit_line(text: str, number: int, old: str, new: str) -> str:
    lines = lines_of(text)
    assert old in lines[number - 1], f"line {number} does not hold {old!r}"
    lines[number - 1] = lines[number - 1].replace(old, new)
    return "\n".join(lines)


def insert_line(text: str, after: int, line: str) -> str:
    lines = lines_of(text)
    lines.insert(after, line)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- round trip

def test_real_file_has_no_problems_and_is_a_valid_seed(parsed):
    assert parsed.problems == []
    assert parsed.year_roc == 106
    assert parsed.title == "法務部 106 年度施政目標與重點"
    assert validate_seed(parsed.data) == []


def test_source_systems_and_counts(parsed, expected):
    assert parsed.data["schema_version"] == 1
    assert parsed.data["source"] == expected["source"]
    assert parsed.data["systems"] == expected["systems"]
    assert len(parsed.data["kpis"]) == len(expected["kpis"])
    assert len(parsed.data["programmes"]) == len(expected["programmes"])


def test_every_kpi_field(parsed, expected):
    compare_kpis(parsed.data["kpis"], expected["kpis"])


def test_every_programme_field(parsed, expected):
    compared = compare_programmes(parsed.data["programmes"], expected["programmes"])
    assert compared == len(expected["programmes"]) * len(PROGRAMME_FIELDS) - len(JUDGEMENT)


def test_judgements_really_differ(parsed, expected):
    """Each listed judgement is one the parser does not reach (else it should leave the list)."""
    by_seq = {p["seq"]: p for p in parsed.data["programmes"]}
    for seq, key in JUDGEMENT:
        assert by_seq[seq][key] != expected["programmes"][seq - 1][key], f"({seq}, {key!r}) now matches"


def test_goals_of_part_one(parsed):
    goals = parsed.goals
    assert [g["no"] for g in goals] == list(range(1, 10))
    assert goals[0]["name"] == "防制毒品沒收犯罪所得"
    assert goals[0]["items"][0].startswith("強化並落實毒品防制策略：")
    assert len(goals[6]["items"]) == 5
    # an item continued on a later paragraph line
    assert goals[3]["items"][3].endswith("以因應外在環境及民眾需求的快速變遷，保護法務智慧網絡資料即時分析基礎環境，作為數位政府施政之後盾。")


def test_infer_systems():
    assert infer_systems("法務部矯正署宜蘭監獄擴建計畫", "改善監所計畫", "") == ["矯正"]
    assert infer_systems("臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案",
                         "檢察機關擴(遷)建計畫", "") == ["檢察", "行政執行"]
    assert infer_systems("推動聯合國反貪腐公約", "廉政業務", "派駐檢察官") == ["廉政"]
    assert infer_systems("落實推動易服社會勞動制度", "法務行政", "督導各地檢署辦理") == ["檢察"]
    assert infer_systems("法務智慧網絡 i-Justice 計畫", "其他設備、一般行政", "優化「廉政資源整合服務」") == ["部本部"]


# --------------------------------------------------------------------------------------------------- refusals

def _only(problems, line):
    found = [p for p in problems if p.line == line]
    assert found, f"no problem on line {line}: {problems!r}"
    return found[0]


def test_stray_line_between_rows(text):
    result = parse_plan_text(insert_line(text, 112, "這是一行不屬於表格的文字"), year_roc=106)
    problem = _only(result.problems, 113)
    assert "無法歸屬" in problem.message
    assert problem.text == "這是一行不屬於表格的文字"


def test_row_whose_cells_belong_to_no_programme(text):
    result = parse_plan_text(insert_line(text, 113, "\t\t\t多出來的實施內容\t"), year_roc=106)
    problem = _only(result.problems, 114)
    assert "無法歸屬" in problem.message


def test_row_with_wrong_number_of_cells(text):
    broken = edit_line(text, 112, "\t一、健全肅貪法制，強化執法基礎。 二、提升貪瀆案件定罪率。 三、舉辦肅貪研習，精進偵查作為。\t提升貪瀆定罪率", "")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 112)
    assert problem.message == "表格欄數不符：預期 5 欄，實得 3 欄"


def test_kpi_row_with_wrong_number_of_cells(text):
    broken = edit_line(text, 75, "\t無", "")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 75)
    assert problem.message == "表格欄數不符：預期 7 欄，實得 6 欄"


def test_unknown_category(text):
    broken = edit_line(text, 112, "\t其它\t", "\t其他類\t")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 112)
    assert "計畫類別「其他類」" in problem.message


def test_incomplete_category_left_incomplete(text):
    broken = edit_line(text, 159, "\t發展\t", "\t\t")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 156)
    assert "計畫類別「社會」" in problem.message


def test_garbled_header_leaves_part_three_without_table(text):
    broken = text.replace("工作計畫名稱\t重要計畫項目", "工作計劃名稱\t重要計劃項目")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 109)
    assert "沒有表格" in problem.message and "標題列" in problem.message


def test_first_header_garbled_rows_before_any_header(text):
    broken = edit_line(text, 111, "工作計畫名稱", "工作計劃名稱")
    problems = parse_plan_text(broken, year_roc=106).problems
    assert "標題列" in _only(problems, 112).message


def test_kpi_link_that_names_no_kpi(text):
    broken = edit_line(text, 112, "\t提升貪瀆定罪率", "\t完全不存在的指標")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 112)
    assert "與 KPI 關聯「完全不存在的指標」" in problem.message


def test_a_link_written_differently_is_an_alias(parsed):
    kpi = next(k for k in parsed.data["kpis"] if k["code"] == "六-1")
    assert kpi["aliases"] == ["社會勞動力及法律協助專案使用者滿意度調查"]


def test_table_row_after_the_notes(text):
    broken = insert_line(text, 107, "\t\t\t\t多出的衡量標準\t\t")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 108)
    assert "無法歸屬" in problem.message


def test_kpi_target_without_number(text):
    broken = edit_line(text, 74, "3,800 人", "若干人")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 74)
    assert "年度目標值「若干人」沒有數字" in problem.message


@pytest.mark.parametrize("fraction", ["(3/2)", "(0/2)"])
def test_impossible_fraction(text, fraction):
    broken = edit_line(text, 147, "(1/3)", fraction)
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 147)
    assert fraction.strip("()") in problem.message and "期別" in problem.message


def test_years_long_disagreeing_with_fraction(text):
    broken = edit_line(text, 185, "（1/2）」（2 年期）", "（1/2）」（3 年期）")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 185)
    assert "年期" in problem.message


def test_missing_part_three(text):
    cut = "\n".join(lines_of(text)[:108])
    result = parse_plan_text(cut, year_roc=106)
    assert [p.line for p in result.problems] == [108]
    assert "參、年度重要計畫" in result.problems[0].message


def test_missing_part_two(text):
    broken = edit_line(text, 70, "貳、年度關鍵績效指標", "年度關鍵績效指標")
    result = parse_plan_text(broken, year_roc=106)
    assert any("貳、年度關鍵績效指標" in p.message for p in result.problems)


def test_title_year_differs_from_the_year_given(text):
    problem = _only(parse_plan_text(text, year_roc=107).problems, 3)
    assert "106" in problem.message and "107" in problem.message


def test_missing_title_without_a_year(text):
    broken = edit_line(text, 3, "法務部 106 年度施政目標與重點", "施政計畫")
    problem = _only(parse_plan_text(broken).problems, 1)
    assert "標題" in problem.message
    assert parse_plan_text(broken, year_roc=106).problems == []


def test_problem_text_is_cut_to_120_characters(text):
    broken = edit_line(text, 141, "\t社會發展\t", "\t社發\t")
    problem = _only(parse_plan_text(broken, year_roc=106).problems, 141)
    assert "計畫類別「社發」" in problem.message
    assert len(problem.text) == 120 and problem.text.startswith("改善監所計畫")


# --------------------------------------------------------------------------------------------------- next year

def test_a_107_text(text):
    text_107 = text.replace("法務部 106 年度施政目標與重點", "法務部 107 年度施政目標與重點")
    text_107 = re.sub(r"([(（])1/3([)）])", r"\g<1>2/3\2", text_107)
    result = parse_plan_text(text_107, year_roc=107, filename="107.txt")
    assert result.problems == []
    assert result.year_roc == 107
    assert result.data["source"]["plan_year"] == 107
    assert validate_seed(result.data) == []
    by_seq = {p["seq"]: p for p in result.data["programmes"]}
    smart = by_seq[25]
    assert smart["name"] == "矯正機關智慧監控系統建置計畫"
    assert smart["name_as_written"] == "矯正機關智慧監控系統建置計畫(2/3)"
    assert smart["phase"] == {"index": 2, "total": 3}
    assert (smart["first_year"], smart["last_year"]) == (106, 108)
    voice = next(s for s in by_seq[49]["sub_plans"] if s["code"] == "計畫3")
    assert voice["phase"] == {"index": 2, "total": 3}
    assert (voice["first_year"], voice["last_year"]) == (106, 108)
    assert by_seq[1]["first_year"] == by_seq[1]["last_year"] == 107


# --------------------------------------------------------------------------------------------------- never raises

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("\t\n 一二、()（）/123年月日至計畫：「」<p></p>壹貳參其它社會發展")) | st.characters(),
               max_size=400))
def test_random_text_never_raises(random_text):
    result = parse_plan_text(random_text)
    assert isinstance(result, PlanText)


_REAL = SOURCE.read_text(encoding="utf-8").split("\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "insert", "cut"]),
                          st.integers(0, len(_REAL) - 1), st.integers(0, 400),
                          st.sampled_from(["\t", "\n", "（1/", "0/", "年", " 2 月至 13 月", "」", "<p>", "社會", "計畫 1："])),
                max_size=8))
def test_mutations_of_the_real_file_never_raise(operations):
    lines = list(_REAL)
    for op, index, position, piece in operations:
        index %= len(lines) or 1
        if not lines:
            lines = [""]
        if op == "delete":
            del lines[index]
        elif op == "duplicate":
            lines.insert(index, lines[index])
        elif op == "insert":
            line = lines[index]
            cut = position % (len(line) + 1)
            lines[index] = line[:cut] + piece + line[cut:]
        else:
            line = lines[index]
            cut = position % (len(line) + 1)
            lines[index] = line[:cut]
    result = parse_plan_text("\n".join(lines), year_roc=106)
    assert isinstance(result, PlanText)
