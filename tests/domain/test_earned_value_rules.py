"""Earned value against published worked examples and one computed by hand."""
from __future__ import annotations

from decimal import Decimal as D

from tracker.domain.earned_value import EarnedValue, earned_value, from_amounts, rollup


def test_ms_project_tcpi_worked_example():
    """MS Project's TCPI field: BAC 200, EV 125, AC 150 → TCPI = (200 − 125) ÷ (200 − 150) = 75 ÷ 50 = 1.5."""
    ev = from_amounts(D(200), None, D(125), D(150))
    assert ev.tcpi == D("1.5")
    # the same programme through percentages: 125 of 200 is 62.5% done
    assert earned_value(D(200), None, D("62.5"), D(150)).tcpi == D("1.5")


def test_pmbok_style_example_computed_by_hand():
    """BAC 100,000, planned 50%, actual 40%, AC 45,000.

    PV = 100,000 × 50% = 50,000; EV = 100,000 × 40% = 40,000;
    SV = 40,000 − 50,000 = −10,000; CV = 40,000 − 45,000 = −5,000;
    SPI = 40,000 ÷ 50,000 = 0.8; CPI = 40,000 ÷ 45,000 = 0.888…;
    EAC = 100,000 ÷ 0.888… = 112,500; ETC = 112,500 − 45,000 = 67,500; VAC = 100,000 − 112,500 = −12,500;
    TCPI = (100,000 − 40,000) ÷ (100,000 − 45,000) = 60,000 ÷ 55,000 = 1.0909….
    """
    ev = earned_value(D(100_000), D(50), D(40), D(45_000))
    assert (ev.bac, ev.pv, ev.ev, ev.ac) == (D(100_000), D(50_000), D(40_000), D(45_000))
    assert (ev.sv, ev.cv) == (D(-10_000), D(-5_000))
    assert ev.spi == D("0.8")
    assert ev.cpi == D(40_000) / D(45_000)
    assert round(ev.cpi, 4) == D("0.8889")
    assert (ev.eac, ev.etc, ev.vac) == (D(112_500), D(67_500), D(-12_500))
    assert ev.tcpi == D(60_000) / D(55_000)
    assert round(ev.tcpi, 4) == D("1.0909")


def test_on_plan_and_on_budget_gives_indices_of_one():
    """Done as planned for what it cost: every variance 0, every index 1, EAC = BAC."""
    ev = earned_value(D(1_000), D(30), D(30), D(300))
    assert (ev.sv, ev.cv, ev.vac) == (0, 0, 0)
    assert (ev.spi, ev.cpi, ev.tcpi) == (1, 1, 1)
    assert ev.eac == D(1_000) and ev.etc == D(700)


def test_missing_inputs_give_none_only_where_needed():
    """No planned %: PV, SV, SPI unknown, the cost figures still known; no budget: nothing but AC and nothing."""
    no_plan = earned_value(D(100), None, D(40), D(50))
    assert (no_plan.pv, no_plan.sv, no_plan.spi) == (None, None, None)
    assert no_plan.cpi == D("0.8") and no_plan.eac == D(125) and no_plan.tcpi == D("1.2")
    no_cost = earned_value(D(100), D(50), D(40), None)
    assert no_cost.spi == D("0.8")
    assert (no_cost.ac, no_cost.cv, no_cost.cpi, no_cost.eac, no_cost.etc, no_cost.vac, no_cost.tcpi) == (None,) * 7
    no_budget = earned_value(None, D(50), D(40), D(45))
    assert no_budget == EarnedValue(ac=D(45))
    assert earned_value(None, None, None, None) == EarnedValue()


def test_division_by_zero_gives_none():
    """Nothing planned yet, nothing spent, nothing done, or spent exactly the budget: that ratio is None."""
    start = earned_value(D(100), D(0), D(0), D(0))
    assert (start.pv, start.ev, start.sv, start.cv) == (0, 0, 0, 0)
    assert (start.spi, start.cpi, start.eac, start.etc, start.vac) == (None,) * 5
    assert start.tcpi == 1  # 100 ÷ 100
    nothing_done = earned_value(D(100), D(20), D(0), D(10))
    assert nothing_done.cpi == 0 and nothing_done.eac is None and nothing_done.vac is None
    spent_all = earned_value(D(100), D(90), D(80), D(100))
    assert spent_all.tcpi is None and spent_all.cpi == D("0.8")


def test_rollup_sums_amounts_and_divides_at_the_end():
    """Two programmes: the portfolio's SPI is ΣEV ÷ ΣPV, not the mean of their SPIs."""
    small = earned_value(D(100), D(50), D(25), D(20))     # SPI 0.5
    large = earned_value(D(900), D(50), D(50), D(500))    # SPI 1.0
    total = rollup([small, large])
    assert (total.bac, total.pv, total.ev, total.ac) == (D(1_000), D(500), D(475), D(520))
    assert total.spi == D("0.95")  # 475 ÷ 500; the mean of the two SPIs would be 0.75
    assert total.cpi == D(475) / D(520)
    assert total.eac == D(1_000) * D(520) / D(475)
    assert total.tcpi == D(525) / D(480)
    assert total == from_amounts(D(1_000), D(500), D(475), D(520))


def test_rollup_leaves_out_programmes_missing_an_amount():
    """A programme without a report or without figures is not half-added: every figure speaks of the same ones."""
    known = earned_value(D(100), D(50), D(40), D(45))
    assert rollup([known, earned_value(D(500), None, None, D(10)), earned_value(D(300), D(20), D(10), None)]) == known
    assert rollup([]) == EarnedValue()
    assert rollup([EarnedValue(bac=D(5))]) == EarnedValue()
