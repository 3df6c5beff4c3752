"""ROC dates as users type and read them (no app needed)."""
from datetime import date

import pytest

from tracker.domain import roc


@pytest.mark.parametrize("text, expected", [
    ("106/7/15", date(2017, 7, 15)),
    ("106年7月15日", date(2017, 7, 15)),
    ("106 年 7 月 15 日", date(2017, 7, 15)),
    ("民國106年7月15日", date(2017, 7, 15)),
    ("106.7.2", date(2017, 7, 2)),
    ("99/1/1", date(2010, 1, 1)),
    ("2017-07-15", date(2017, 7, 15)),
])
def test_parse_date_reads_roc_and_iso(text, expected):
    assert roc.parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "106/13/1", "106/2/30", "next tuesday", "2017/07/15/1"])
def test_parse_date_refuses_what_is_not_a_date(text):
    with pytest.raises(roc.RocDateError):
        roc.parse_date(text)


def test_formats_as_users_read_them():
    assert roc.format_roc_date(date(2017, 7, 15)) == "106年7月15日"
    assert roc.format_roc_month(date(2017, 7, 15)) == "106年7月"
    assert roc.format_roc_date(None) == "—"


@pytest.mark.parametrize("start, finish, expected", [
    (date(2017, 1, 1), date(2017, 3, 31), "106年1月至3月"),
    (date(2017, 7, 1), date(2017, 12, 31), "106年7月至12月"),
    (date(2017, 1, 1), date(2017, 12, 31), "106年"),
    (date(2019, 1, 1), date(2020, 12, 31), "108至109年"),
    (date(2017, 3, 27), date(2017, 3, 27), "106年3月27日"),
    (date(2017, 2, 1), date(2017, 2, 28), "106年2月"),
    (date(2017, 11, 1), date(2018, 2, 28), "106年11月至107年2月"),
    (date(2017, 3, 5), date(2017, 4, 20), "106年3月5日至106年4月20日"),
])
def test_span_reads_like_the_plan(start, finish, expected):
    assert roc.format_roc_span(start, finish) == expected


def test_roc_month():
    month = roc.parse_roc_month("106-09")
    assert (month.year, month.month, str(month)) == (2017, 9, "106-09")
    assert month.last_day == date(2017, 9, 30)
    assert roc.parse_roc_month("106年2月").last_day == date(2017, 2, 28)
    with pytest.raises(roc.RocDateError):
        roc.parse_roc_month("106-13")
