"""Import rows name their programme by plan code or exact (folded) name; month-end figures are checked across
rows and months: cumulative figures do not fall (unless corrected), a skipped month and 執行數 above 分配數 warn."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tracker.domain.ledger_rules import MonthPoint, check_series, over_allocated
from tracker.models import Budget, MonthEnd, Project
from tracker.services import audit
from tracker.services.ledger_import import ImportRefused, import_ledger

CHIAYI = "法務部調查局嘉義市調查站辦公房舍遷建計畫"  # code 48
TAICHUNG = "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案"
BUDGET_HEADER = ["計畫名稱", "年度", "經資門", "原預算數", "追加預算數", "以前年度保留數"]
MONTH_HEADER = ["計畫名稱", "年度", "月份", "經資門", "累計分配數", "累計實支數", "應付未付數", "累計賸餘數"]
HINT = "（累計數不得減少；如為更正，請在「更正」欄填「是」）"


# --- the rules, pure -------------------------------------------------------------------------------------------


def point(month, allocated, executed, row=None, correction=False):
    return MonthPoint(month, D(allocated), D(executed), row=row, is_correction=correction)


def test_a_file_month_below_the_stored_earlier_month_is_refused_naming_both():
    found = check_series([point(10, 599_583, 500_000)], [point(11, 100_000, 500_000, row=2)])
    (refusal,) = found.refusals
    assert (refusal.row, refusal.field) == (2, "allocated")
    assert refusal.reason == f"11 月累計分配數 100,000 千元低於 10 月的 599,583 千元{HINT}"


def test_executed_falling_is_refused_too():
    found = check_series([point(3, 100, 90)], [point(4, 120, 80, row=5)])
    (refusal,) = found.refusals
    assert refusal.field == "executed" and "4 月執行數" in refusal.reason and "80 千元低於 3 月的 90 千元" in refusal.reason


def test_a_fall_within_the_file_names_the_earlier_row():
    found = check_series([], [point(10, 500, 100, row=2), point(11, 400, 100, row=3)])
    (refusal,) = found.refusals
    assert refusal.row == 3 and "低於 10 月（本檔第 2 列）的 500 千元" in refusal.reason


def test_a_file_month_above_a_stored_later_month_is_refused_on_the_file_row():
    found = check_series([point(11, 600, 100)], [point(10, 700, 100, row=4)])
    (refusal,) = found.refusals
    assert refusal.row == 4 and "10 月累計分配數 700 千元高於資料庫已有的 11 月 600 千元" in refusal.reason


def test_the_file_replaces_the_stored_month_it_gives():
    # October stored as 900 is corrected down by the file's own October: November 800 does not fall below it
    found = check_series([point(10, 900, 100), point(11, 800, 100)], [point(10, 700, 100, row=2)])
    assert found.refusals == []


def test_a_correction_row_may_fall():
    found = check_series([point(10, 599_583, 500_000)], [point(11, 100_000, 500_000, row=2, correction=True)])
    assert found.refusals == []
    found = check_series([point(11, 600, 100)], [point(10, 700, 100, row=4, correction=True)])
    assert found.refusals == []


def test_figures_only_stored_are_not_this_files_doing():
    found = check_series([point(1, 500, 100), point(2, 100, 100)], [point(4, 600, 200, row=2)])
    assert found.refusals == []


def test_a_skipped_month_warns():
    found = check_series([point(9, 100, 50)], [point(11, 200, 100, row=2)])
    assert found.refusals == []
    (warning,) = found.warnings
    assert warning.row == 2 and "尚無 10 月的月報" in warning.reason and "9 月" in warning.reason
    # the first month a programme reports, and the month after the last, do not warn
    assert check_series([], [point(6, 100, 50, row=2)]).warnings == []
    assert check_series([point(10, 100, 50)], [point(11, 200, 100, row=2)]).warnings == []


def test_executed_above_allocated_warns_with_the_rate():
    (warning,) = check_series([], [point(3, 600, 700, row=2)]).warnings
    assert warning.field == "executed" and "（116.7%）" in warning.reason
    assert "執行數 700 千元" in warning.reason and "累計分配數 600 千元" in warning.reason
    assert over_allocated(point(3, 0, 5, row=2)) is not None
    assert over_allocated(point(3, 600, 600, row=2)) is None


def test_the_tolerance_is_a_percentage_of_the_allocation():
    assert over_allocated(point(3, 600, 700, row=2), D(20)) is None       # 116.7% within 120%
    assert over_allocated(point(3, 600, 700, row=2), D(10)) is not None   # beyond 110%


# --- the importer --------------------------------------------------------------------------------------------------


def csv_bytes(rows) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def run(session, rows, name="ledger.csv"):
    result = import_ledger(session, name, csv_bytes(rows), audit.CLI)
    session.commit()
    return result


def refused(session, rows):
    with pytest.raises(ImportRefused) as caught:
        import_ledger(session, "ledger.csv", csv_bytes(rows), audit.CLI)
    session.rollback()
    return caught.value.problems


def project(session, **where) -> Project:
    return session.scalars(sa.select(Project).filter_by(**where)).one()


def figures(session, project_id):
    session.expire_all()
    return session.execute(sa.select(MonthEnd.month, MonthEnd.allocated, MonthEnd.paid)
                           .where(MonthEnd.project_id == project_id).order_by(MonthEnd.month)).all()


@pytest.fixture
def chiayi(seeded, session):
    """嘉義市調查站 (code 48) with a 106 capital budget of 1,000,000 and October's 599,583 allocated."""
    chiayi = project(session, name=CHIAYI)
    session.add(Budget(project_id=chiayi.id, year_roc=106, kind="capital", original=D(1_000_000)))
    session.add(MonthEnd(project_id=chiayi.id, year_roc=106, month=10, kind="capital",
                         allocated=D(599_583), paid=D(400_000)))
    session.commit()
    return chiayi


def test_rows_keyed_by_plan_code_land_on_the_programme_the_code_names(seeded, session):
    chiayi = project(session, code="48")
    assert chiayi.name == CHIAYI and chiayi.id != 48  # internal ids diverge from the codes
    by_id_48 = session.get(Project, 48)
    sub_plan = project(session, code="49-3")
    result = run(session, [BUDGET_HEADER, ["48", "106", "資本門", "1,000", "0", "0"],
                           ["４９－３", "106", "經常門", "300", "0", "0"]])
    assert result.created == 2
    assert session.scalars(sa.select(Budget.project_id).order_by(Budget.id)).all() == [chiayi.id, sub_plan.id]
    run(session, [MONTH_HEADER, ["48", "106", "1", "資本門", "100", "40", "0", "0"],
                  ["49-3", "106", "1", "經常門", "30", "10", "0", "0"]])
    assert figures(session, chiayi.id) == [(1, 100, 40)]
    assert figures(session, sub_plan.id) == [(1, 30, 10)]
    assert figures(session, by_id_48.id) == []


def test_a_separate_plan_code_column_is_read_and_must_agree_with_the_name(seeded, session):
    chiayi = project(session, code="48")
    header = ["計畫編號", *BUDGET_HEADER]
    run(session, [header, ["48", "", "106", "資本門", "1,000", "0", "0"]])
    assert session.scalars(sa.select(Budget.project_id)).all() == [chiayi.id]
    (problem,) = refused(session, [header, ["48", TAICHUNG, "106", "資本門", "1,000", "0", "0"]])
    assert problem.field == "計畫名稱" and "計畫編號「48」是「法務部調查局嘉義市調查站" in problem.reason
    (problem,) = refused(session, [header, ["999", CHIAYI, "106", "資本門", "1,000", "0", "0"]])
    assert problem.field == "計畫編號" and "找不到計畫編號「999」" in problem.reason


def test_names_fold_tai_full_width_and_spaces(seeded, session):
    taichung = project(session, name=TAICHUNG)
    typed = " " + TAICHUNG.replace("臺", "台").replace("、", " 、 ") + "　"
    run(session, [BUDGET_HEADER, [typed, "１０６", "資本門", "１，０００", "0", "0"]])
    assert session.scalars(sa.select(Budget.project_id)).all() == [taichung.id]


def test_a_name_matching_nothing_offers_the_closest_with_their_codes(seeded, session):
    taichung = project(session, name=TAICHUNG)
    (problem,) = refused(session, [BUDGET_HEADER, ["台中分署", "106", "資本門", "1", "0", "0"]])
    assert problem.field == "計畫名稱"
    assert problem.reason.startswith(f"找不到計畫「台中分署」；您是否要找：{TAICHUNG}（編號 {taichung.code}）")
    assert problem.reason.count("（編號 ") == 3


def test_a_name_matching_two_programmes_is_refused_naming_both_codes(seeded, session):
    chiayi = project(session, code="48")
    session.add(Project(seq=120, code="120", name=CHIAYI.replace("調查站", " 調查站"), name_as_written=CHIAYI,
                        work_plan_id=chiayi.work_plan_id, category=chiayi.category,
                        first_year_roc=106, last_year_roc=106))
    session.commit()
    (problem,) = refused(session, [BUDGET_HEADER, [CHIAYI, "106", "資本門", "1", "0", "0"]])
    assert "有 2 個計畫都叫" in problem.reason and "請改填計畫編號" in problem.reason
    assert "（編號 48）" in problem.reason and "（編號 120）" in problem.reason


@pytest.mark.parametrize("amount", ["1,23", "12,34,5", "1,2345", ",123"])
def test_commas_only_between_groups_of_three(seeded, session, amount):
    (problem,) = refused(session, [BUDGET_HEADER, ["48", "106", "資本門", amount, "0", "0"]])
    assert (problem.row, problem.field) == (2, "原預算數")
    assert f"收到「{amount}」" in problem.reason and "每三位" in problem.reason


def test_grouped_thousands_and_full_width_commas_are_read(seeded, session):
    run(session, [BUDGET_HEADER, ["48", "106", "資本門", "1,234,567", "１，０００.５", "999"]])
    budget = session.scalars(sa.select(Budget)).one()
    assert (budget.original, budget.supplementary, budget.carried_over) == (D(1234567), D("1000.5"), D(999))


def test_november_below_octobers_stored_allocation_is_refused(chiayi, session):
    problems = refused(session, [MONTH_HEADER, ["48", "106", "11", "資本門", "100,000", "400,000", "0", "0"]])
    assert [(p.row, p.field) for p in problems] == [(2, "累計分配數")]
    assert f"累計分配數 100,000 千元低於 10 月的 599,583 千元{HINT}" in problems[0].reason
    assert figures(session, chiayi.id) == [(10, 599_583, 400_000)]


def test_executed_below_the_month_before_in_the_same_file_is_refused(chiayi, session):
    problems = refused(session, [MONTH_HEADER, ["48", "106", "11", "資本門", "650,000", "450,000", "0", "0"],
                                 ["48", "106", "12", "資本門", "700,000", "300,000", "100,000", "0"]])
    assert [p.row for p in problems] == [3]
    assert "12 月執行數（實支＋應付未付＋賸餘） 400,000 千元低於 11 月（本檔第 2 列）的 450,000 千元" in problems[0].reason


def test_a_correction_row_is_accepted_and_the_import_says_so(chiayi, session):
    header = [*MONTH_HEADER, "更正"]
    result = run(session, [header, ["48", "106", "11", "資本門", "100,000", "400,000", "0", "0", "是"]])
    assert result.is_correction is True
    assert figures(session, chiayi.id) == [(10, 599_583, 400_000), (11, 100_000, 400_000)]
    plain = run(session, [header, ["48", "106", "12", "資本門", "200,000", "400,000", "0", "0", ""]])
    assert plain.is_correction is False


def test_a_correction_cell_that_says_neither_yes_nor_no_is_refused(chiayi, session):
    problems = refused(session, [[*MONTH_HEADER, "更正"],
                                 ["48", "106", "11", "資本門", "600,000", "400,000", "0", "0", "也許"]])
    assert [(p.row, p.field) for p in problems] == [(2, "更正")] and "也許" in problems[0].reason


def test_allocation_above_the_available_budget_is_still_refused(chiayi, session):
    (problem,) = refused(session, [MONTH_HEADER, ["48", "106", "11", "資本門", "1,000,001", "400,000", "0", "0"]])
    assert "超過可支用預算數 1,000,000 千元" in problem.reason


def test_executed_above_allocated_and_a_skipped_month_are_warnings_not_refusals(chiayi, session):
    result = run(session, [MONTH_HEADER, ["48", "106", "12", "資本門", "600,000", "600,000", "100,000", "0"]])
    assert result.created == 1
    assert [(w.row, w.field) for w in result.warnings] == [(2, None), (2, None)]
    reasons = " ".join(w.reason for w in result.warnings)
    assert "尚無 11 月的月報（最近一期是 10 月）" in reasons
    assert "執行數 700,000 千元（實支＋應付未付＋賸餘）超過累計分配數 600,000 千元（116.7%）" in reasons
    assert figures(session, chiayi.id)[-1] == (12, 600_000, 600_000)


def test_an_unfilled_month_end_row_is_left_out_with_a_warning_not_imported_as_zeros(seeded, session):
    from conftest import YILAN, YUNLIN, add_budget
    from test_ledger_import import MONTH_HEADER, csv_bytes
    from tracker.models import MonthEnd
    from tracker.services import audit
    from tracker.services.ledger_import import ImportRefused, import_ledger
    add_budget(session, YILAN, 1000)
    add_budget(session, YUNLIN, 1000)
    session.commit()
    result = import_ledger(session, "m.csv", csv_bytes([
        MONTH_HEADER, [YILAN, 106, 8, "資本門", "300", "100", "0", "0"], [YUNLIN, 106, 8, "資本門", "", "", "", ""]]),
        audit.CLI)
    session.commit()
    assert result.rows == 1 and any("視為未報" in w.reason and w.row == 3 for w in result.warnings)
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd)) == 1
    with pytest.raises(ImportRefused, match="沒有可匯入的數字"):
        import_ledger(session, "m.csv", csv_bytes([MONTH_HEADER, [YUNLIN, 106, 8, "資本門", "", "", "", ""]]), audit.CLI)
