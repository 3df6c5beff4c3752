"""The official execution ratios, forecast and alert rules against hand-computed cases."""
from decimal import Decimal as D

from tracker.domain.execution import (ExecutionThresholds, Figures, available_budget, forecast, is_below_target,
                                      is_low_execution, rates, round_rate, total)


def test_domain_md_example_rate_100_achievement_40():
    # budget 6,000, allocated to June 2,400, executed 2,400: 執行率 100%, 達成率 40%
    r = rates(Figures(available=D(6000), allocated=D(2400), paid=D(2400)))
    assert (r.allocation_rate, r.achievement_rate) == (D(100), D(40))


def test_available_budget_includes_supplementary_and_carried_over():
    available = available_budget(D(1000), D(200), D(300))
    assert available == D(1500)
    r = rates(Figures(available=available, allocated=D(1200), paid=D(600), payables=D(300), savings=D(150)))
    assert r.executed == D(1050)
    assert r.achievement_rate == D(70)                  # 1,050 ÷ 1,500
    assert round_rate(r.allocation_rate) == D("87.50")  # 1,050 ÷ 1,200
    assert r.allocated_unexecuted == D(150)


def test_payables_count_as_executed_but_not_as_spent():
    r = rates(Figures(available=D(1000), allocated=D(200), paid=D(100), payables=D(50)))
    assert r.allocation_rate == D(75)   # (100 + 50) ÷ 200
    assert r.spend_rate == D(50)        # 100 ÷ 200, payables excluded
    assert r.allocated_unexecuted == D(50)


def test_zero_denominators_give_no_rate():
    r = rates(Figures())
    assert (r.allocation_rate, r.achievement_rate, r.spend_rate) == (None, None, None)
    r = rates(Figures(available=D(0), allocated=D(10), paid=D(5)))
    assert r.achievement_rate is None and r.allocation_rate == D(50)
    assert round_rate(None) is None


def test_at_year_end_rate_equals_achievement():
    december = Figures(available=D(5000), allocated=D(5000), paid=D(4100), payables=D(200), savings=D(50))
    r = rates(december)
    assert r.allocation_rate == r.achievement_rate == D(87)  # the KPI 九-1 figure


def test_rollup_sums_amounts_not_rates():
    a = Figures(available=D(100), allocated=D(100), paid=D(100))   # 100%
    b = Figures(available=D(900), allocated=D(900), paid=D(450))   # 50%
    average_of_rates = (rates(a).allocation_rate + rates(b).allocation_rate) / 2
    rolled = rates(total([a, b]))
    assert average_of_rates == D(75)
    assert rolled.allocation_rate == D(55)  # 550 ÷ 1,000


def test_forecast_follows_recent_pace_over_what_is_still_to_allocate():
    now = Figures(available=D(1200), allocated=D(600), paid=D(480))
    march = Figures(allocated=D(300), paid=D(270))
    fc = forecast(now, march, month=6, earlier_month=3, target_pct=D(90))
    # recent share (480 − 270) ÷ (600 − 300) = 0.7; year end 480 + 0.7 × 600 = 900 → 75%
    assert fc.executed_at_year_end == D(900) and fc.rate == D(75)
    # 90% of 1,200 = 1,080; (1,080 − 480) ÷ 6 months = 100 a month
    assert (fc.remaining_months, fc.needed_per_month) == (6, D(100))


def test_forecast_edges():
    nothing_allocated = forecast(Figures(available=D(1000)), None, 2, 0, D(90))
    assert nothing_allocated.rate is None and nothing_allocated.needed_per_month == D(90)
    december = forecast(Figures(available=D(1000), allocated=D(1000), paid=D(950)), None, 12, 9, D(90))
    assert december.rate == D(95) and december.needed_per_month == D(0)
    no_budget = forecast(Figures(allocated=D(10), paid=D(10)), None, 5, 2, D(90))
    assert no_budget.rate is None and no_budget.needed_per_month is None
    on_track = forecast(Figures(available=D(100), allocated=D(50), paid=D(50)), Figures(allocated=D(20), paid=D(20)), 6, 3, D(90))
    assert on_track.rate == D(100) and on_track.needed_per_month == D(7)  # (90 − 50) ÷ 6, rounded up to 千元
    short_at_year_end = forecast(Figures(available=D(1000), allocated=D(1000), paid=D(800)), None, 12, 9, D(90))
    assert short_at_year_end.needed_per_month == D(100)  # the whole shortfall


def test_low_execution_rule_at_its_thresholds():
    t = ExecutionThresholds()
    just_below = rates(Figures(available=D(10**6), allocated=D(500_010), paid=D(400_000)))  # 79.998%, 100,010 unexecuted
    assert is_low_execution(just_below, t)
    at_80 = rates(Figures(available=D(10**6), allocated=D(600_000), paid=D(480_000)))  # exactly 80%
    assert not is_low_execution(at_80, t)
    small = rates(Figures(available=D(10**6), allocated=D(400_000), paid=D(300_000)))  # 75% but exactly 100,000
    assert not is_low_execution(small, t)
    stricter = ExecutionThresholds(low_rate_pct=D(85), low_unexecuted=D(50_000))
    assert is_low_execution(at_80, stricter)


def test_below_target_rule():
    t = ExecutionThresholds()
    assert is_below_target(forecast(Figures(available=D(100), allocated=D(100), paid=D(89)), None, 12, 9, D(90)), t)
    assert not is_below_target(forecast(Figures(available=D(100), allocated=D(100), paid=D(90)), None, 12, 9, D(90)), t)
    assert not is_below_target(forecast(Figures(available=D(100)), None, 1, 0, D(90)), t)
