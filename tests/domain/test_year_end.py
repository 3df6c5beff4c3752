"""The year-end rule: the unexecuted capital budget proposed as next year's 以前年度保留數, and the officer's amount."""
from decimal import Decimal as D

import pytest

from tracker.domain.year_end import check_carry_over, proposed_carry_over


def test_the_proposal_is_the_unexecuted_amount_never_below_zero():
    assert proposed_carry_over(D(550000), D(430000)) == D(120000)
    assert proposed_carry_over(D(1000), D(1000)) == 0
    assert proposed_carry_over(D(1000), D("1200.5")) == 0  # executed beyond the budget: nothing to keep
    assert proposed_carry_over(D(1000), None) is None  # no December figures: the officer says


@pytest.mark.parametrize("text, amount", [("120000", D(120000)), ("１２０,０００", D(120000)), ("0", D(0)),
                                          ("0.001", D("0.001")), (D(550000), D(550000))])
def test_amounts_as_typed(text, amount):
    check = check_carry_over(text, D(550000))
    assert check.problem is None and check.amount == amount


@pytest.mark.parametrize("text, words", [("", "請填保留數"), (None, "請填保留數"), ("abc", "須為數字"), ("-5", "不可為負數"),
                                         ("NaN", "須為數字"), ("Infinity", "須為數字"), ("1.0001", "小數第 3 位"),
                                         ("550000.001", "超過可支用預算數 550,000 千元")])
def test_refused_amounts_say_why(text, words):
    check = check_carry_over(text, D(550000))
    assert check.amount is None and words in check.problem
