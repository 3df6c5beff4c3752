"""tracker.web.params as pure functions: strict integers, pages, ROC years and months, ids, JSON bodies."""
from __future__ import annotations

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.exceptions import NotFound

from tracker.web.params import (MAX_ID, MAX_JSON_DEPTH, MAX_PAGE, BodyError, IdConverter, ParamError, int_param,
                                json_depth, json_object, page_param, roc_date_param, roc_month_param, roc_year_param)


@pytest.mark.parametrize("text", ["²", "١٠٦", "١", "1_000", "+3", "-1", " 12", "12 ", "12\n", "1e3", "0x10", "12.0",
                                  "9" * 5000, "9" * 19, "abc", "\x00"])
def test_only_ascii_digits_are_a_number(text):
    with pytest.raises(ParamError) as raised:
        int_param({"n": text}, "n", maximum=10**18)
    assert raised.value.name == "n" and "n" in str(raised.value)


def test_a_number_within_its_range():
    assert int_param({"n": "007"}, "n") == 7
    assert int_param({}, "n", 5) == 5 and int_param({"n": ""}, "n", 5) == 5  # absent or empty: the default
    assert int_param({"n": str(MAX_PAGE)}, "n") == MAX_PAGE
    for text in ("0", str(MAX_PAGE + 1)):
        with pytest.raises(ParamError, match=f"1 至 {MAX_PAGE}"):
            int_param({"n": text}, "n")


def test_the_message_says_what_the_parameter_must_be_in_its_own_words():
    with pytest.raises(ParamError) as raised:
        int_param({"year": "abc"}, "year", None, 1, 300, "年度須為民國年（例如 106）")
    assert raised.value.message == "年度須為民國年（例如 106），而非「abc」"


def test_a_long_value_is_quoted_cut_short():
    with pytest.raises(ParamError) as raised:
        page_param({"page": "9" * 5000})
    assert len(raised.value.message) < 100


def test_pages_years_and_months():
    assert page_param({}) == 1 and page_param({"page": "3"}) == 3
    with pytest.raises(ParamError):
        page_param({"page": "0"})
    assert roc_year_param({"year": "106"}) == 106
    for text in ("0", "301", "２０１７"):
        with pytest.raises(ParamError):
            roc_year_param({"year": text})
    month = roc_month_param({"month": "106-09"})
    assert (month.year, month.month) == (2017, 9)
    with pytest.raises(ParamError) as raised:
        roc_month_param({"month": "106-13"})
    assert raised.value.name == "month"


def test_days_and_months_stay_within_roc_years_1_to_300():
    from datetime import date
    assert roc_date_param({"d": "106/7/15"}, "d") == date(2017, 7, 15)
    assert roc_date_param({"d": "2017-07-15"}, "d") == date(2017, 7, 15)
    assert roc_date_param({}, "d") is None and roc_date_param({"d": ""}, "d", date(2017, 1, 1)) == date(2017, 1, 1)
    assert roc_date_param({"d": "300/12/31"}, "d") == date(2211, 12, 31)
    for text in ("0001-01-01", "9999-12-31", "1911-12-31", "301/1/1", "2212-01-01"):
        with pytest.raises(ParamError, match="民國 1 至 300 年"):
            roc_date_param({"d": text}, "d")
    for text in ("106/2/30", "x"):
        with pytest.raises(ParamError) as raised:
            roc_date_param({"d": text}, "d")
        assert raised.value.name == "d"
    for text in ("9999-12", "0000-01", "1911-12", "301-01"):
        with pytest.raises(ParamError, match="民國 1 至 300 年"):
            roc_month_param({"m": text}, "m")


def _match(path: str):
    urls = Map([Rule("/p/<id:pid>", endpoint="p")], converters={"id": IdConverter}).bind("x")
    return urls.match(path)[1]["pid"]


def test_an_id_in_a_url_is_ascii_digits_within_the_column_range():
    assert _match("/p/12") == 12 and _match(f"/p/{MAX_ID}") == MAX_ID
    assert MAX_ID == 2**31 - 1  # INTEGER on PostgreSQL: a larger value would overflow the query, not miss
    for path in (f"/p/{MAX_ID + 1}", f"/p/{2**63}", "/p/99999999999999999999", "/p/0", "/p/-1", "/p/١٢", "/p/1.5",
                 "/p/abc", "/p/" + "9" * 5000):
        with pytest.raises(NotFound):
            _match(path)


def test_a_json_object_is_read_strictly():
    assert json_object(b'{"version": 1, "status": "done"}') == {"version": 1, "status": "done"}
    assert json_object('{"name": "計畫"}'.encode()) == {"name": "計畫"}
    refusals = {
        b"": "無法解析", b"{": "無法解析", b"[1, 2]": "JSON 物件", b"null": "JSON 物件", b'"x"': "JSON 物件",
        b'{"a": NaN}': "NaN", b'{"a": Infinity}': "Infinity", b"\xff\xfe": "UTF-8",
        b"[" * 100_000: "巢狀", b'{"a": ' * 5000 + b"1" + b"}" * 5000: "巢狀",
        b'{"a": ' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1): "巢狀",
        b'{"a": ' + b"9" * 5000 + b"}": "無法解析",  # beyond Python's 4300-digit limit
    }
    for data, words in refusals.items():
        with pytest.raises(BodyError) as raised:
            json_object(data)
        assert words in raised.value.message, data[:30]
    assert json_object(b'{"a": ' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH)


def test_json_depth_counts_without_recursion():
    assert json_depth(1) == 0 and json_depth({}) == 1 and json_depth({"a": [1, {"b": []}]}) == 4
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == 50_001
