"""Slip rules at their thresholds, lights, planned curves and the reporting calendar."""
from datetime import date
from decimal import Decimal as D

import pytest

from tracker.domain.slippage import (Light, MilestoneFacts, SlipThresholds, curve_at, curve_from_milestones,
                                     days_behind_on_curve, is_back_loaded, judge_milestone, judge_project_curve,
                                     planned_percent, report_due, worst)

T = SlipThresholds()
# 100 days: 2017-01-01 … 2017-04-10
START, FINISH = date(2017, 1, 1), date(2017, 4, 10)


def facts(percent, status="in_progress", actual_start=START, actual_finish=None):
    return MilestoneFacts(START, FINISH, status, D(percent), actual_start, actual_finish)


def test_planned_percent_is_straight_line():
    assert planned_percent(START, FINISH, date(2016, 12, 31)) == 0
    assert planned_percent(START, FINISH, date(2017, 1, 1)) == 1
    assert planned_percent(START, FINISH, date(2017, 2, 19)) == 50
    assert planned_percent(START, FINISH, FINISH) == 100


def test_overdue_only_after_the_planned_finish_and_until_done():
    assert "OVERDUE" not in judge_milestone(facts(90), FINISH, False, T).kinds
    late = judge_milestone(facts(90), date(2017, 4, 11), False, T)
    assert "OVERDUE" in late.kinds and late.light is Light.RED
    done = judge_milestone(facts(100, "done", actual_finish=date(2017, 4, 20)), date(2017, 5, 1), False, T)
    assert done.kinds == () and done.light is Light.GREEN
    assert judge_milestone(facts(0, "cancelled", None), date(2017, 5, 1), False, T).kinds == ()


def test_lagging_on_ordinary_works_needs_20_points_and_10_days():
    day = date(2017, 2, 19)  # planned 50%
    assert "LAGGING" in judge_milestone(facts(30), day, False, T).kinds       # 20 points, 20 days
    assert "LAGGING" not in judge_milestone(facts("30.01"), day, False, T).kinds  # 19.99 points
    # 20 points behind but only 9 days: a short milestone (50 days; planned 40% on day 20, actual 20% reached day 10)
    short = MilestoneFacts(START, date(2017, 2, 19), "in_progress", D(20), START)
    verdict = judge_milestone(short, date(2017, 1, 20), False, T)
    assert verdict.lag_points == 20 and verdict.lag_days == 10 and "LAGGING" in verdict.kinds
    verdict = judge_milestone(short, date(2017, 1, 19), False, T)   # 38% planned, 18 points
    assert "LAGGING" not in verdict.kinds


def test_lagging_on_very_large_works_needs_10_points():
    day = date(2017, 2, 19)  # planned 50%
    assert "LAGGING" in judge_milestone(facts(40), day, True, T).kinds
    assert "LAGGING" not in judge_milestone(facts("40.01"), day, True, T).kinds
    assert "LAGGING" not in judge_milestone(facts(40), day, False, T).kinds


def test_lights():
    day = date(2017, 2, 19)
    assert judge_milestone(facts(50), day, False, T).light is Light.GREEN
    assert judge_milestone(facts(40), day, False, T).light is Light.YELLOW   # 10 points: half the 20
    assert judge_milestone(facts(30), day, False, T).light is Light.RED
    assert judge_milestone(facts(0, "not_started", None), date(2016, 12, 1), False, T).light is Light.NONE
    assert worst([Light.GREEN, Light.RED, Light.YELLOW]) is Light.RED
    assert worst([]) is Light.NONE


def test_forecast_slip_from_progress_so_far():
    # started 1 Jan, 25% done after 40 days → 160 days in all → 9 June, after the 10 April plan
    verdict = judge_milestone(facts(25), date(2017, 2, 9), False, T)
    assert verdict.forecast_finish == date(2017, 6, 9)
    assert "FORECAST_SLIP" in verdict.kinds and verdict.light >= Light.YELLOW
    on_pace = judge_milestone(facts(40), date(2017, 2, 9), False, T)   # 100 days in all
    assert "FORECAST_SLIP" not in on_pace.kinds


def test_project_curve_lag():
    assert "LAGGING" in judge_project_curve(D(60), D(40), 10, False, T).kinds
    assert "LAGGING" not in judge_project_curve(D(60), D(40), 9, False, T).kinds
    assert "LAGGING" in judge_project_curve(D(60), D(50), 1, True, T).kinds


def test_curves_and_back_loading():
    even = curve_from_milestones([(date(2017, 1, 1), date(2017, 12, 31))])
    assert curve_at(even, date(2017, 7, 2)) == pytest.approx(D(50), abs=D("0.5"))
    assert not is_back_loaded(even, T)
    back = [(date(2016, 12, 31), D(0)), (date(2017, 9, 30), D(20)), (date(2017, 12, 31), D(100))]
    assert is_back_loaded(back, T)
    assert not is_back_loaded([(date(2016, 12, 31), D(0)), (date(2017, 9, 30), D(60)), (date(2017, 12, 31), D(100))], T)
    assert days_behind_on_curve(even, D(25), date(2017, 7, 2)) == pytest.approx(91, abs=2)
    assert days_behind_on_curve(even, D(60), date(2017, 7, 2)) == 0


def test_report_due_by_the_10th():
    assert report_due(date(2017, 10, 10), 10) == (2017, 8)   # September's report is due today
    assert report_due(date(2017, 10, 11), 10) == (2017, 9)
    assert report_due(date(2017, 1, 5), 10) == (2016, 11)
