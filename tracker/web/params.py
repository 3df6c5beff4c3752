"""Query arguments parsed once, strictly, at the edge: whole numbers, pages, ROC years and months, ids.

Every view and the API read their arguments through these helpers, so an odd value is refused the same way
everywhere: ParamError names the parameter and says what it must be; `or_400` turns it into a 400.
"""
from __future__ import annotations

import json
import re
from datetime import date
from collections.abc import Mapping
from typing import Any

from flask import abort
from werkzeug.routing import IntegerConverter

from tracker.domain.roc import (ROC_YEAR_MAX, ROC_YEAR_MIN, RocDateError, RocMonth, parse_date, parse_roc_month,
                               to_roc_year)

#: ASCII digits only: int() would also take "١٢", "1_000", " 12 " and "+3".
_DIGITS = re.compile(r"[0-9]{1,18}")  # used with fullmatch: "$" would let a trailing newline through
#: The largest page any list is asked for; a larger number is refused, not clamped silently.
MAX_PAGE = 1_000_000
#: Ids are INTEGER columns: 32-bit on PostgreSQL (SQLite would take 64), so a larger one cannot exist anywhere.
MAX_ID = 2**31 - 1
#: The deepest JSON body accepted: the API's bodies are flat objects; Python's parser overflows its stack near 1000.
MAX_JSON_DEPTH = 20


class ParamError(ValueError):
    """A query argument that is not what it must be; ``name`` is the parameter."""

    def __init__(self, name: str, message: str):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


def int_param(args: Mapping[str, str], name: str, default: int | None = None, minimum: int = 1,
              maximum: int = MAX_PAGE, message: str | None = None) -> int | None:
    """A whole number of ASCII digits within minimum..maximum; the default when absent or empty.

    ``message`` replaces the generic 「須為 1 至 300 的整數」 where a page says it in its own words.
    """
    text = args.get(name)
    if text is None or text == "":
        return default
    if not _DIGITS.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise ParamError(name, f"{message or f'須為 {minimum} 至 {maximum} 的整數'}，而非「{text[:40]}」")
    return int(text)


def page_param(args: Mapping[str, str], name: str = "page") -> int:
    """The page asked for (1 when absent)."""
    return int_param(args, name, 1, 1, MAX_PAGE)


def page_or_first(args: Mapping[str, str], name: str = "page") -> int:
    """The page an HTML list shows: a page that is no number shows the first one (a link typed by hand)."""
    try:
        return page_param(args, name)
    except ParamError:
        return 1


def roc_year_param(args: Mapping[str, str], name: str = "year", default: int | None = None) -> int | None:
    """An ROC year (1–300)."""
    return int_param(args, name, default, ROC_YEAR_MIN, ROC_YEAR_MAX)


def _in_roc_years(name: str, year: int, text: str) -> None:
    """Refuse a date or month outside ROC years 1–300 (1912–2211): no plan reaches them, and time zones overflow."""
    if not ROC_YEAR_MIN <= to_roc_year(year) <= ROC_YEAR_MAX:
        raise ParamError(name, f"須在民國 {ROC_YEAR_MIN} 至 {ROC_YEAR_MAX} 年之間，而非「{text[:40]}」")


def roc_month_param(args: Mapping[str, str], name: str = "month", default: RocMonth | None = None) -> RocMonth | None:
    """A month typed 106-09, 106/9, 106年9月 or 2017-09, within ROC years 1–300."""
    text = args.get(name)
    if not text:
        return default
    try:
        month = parse_roc_month(text)
    except RocDateError as error:
        raise ParamError(name, str(error)) from None
    _in_roc_years(name, month.year, text)
    return month


def roc_date_param(args: Mapping[str, str], name: str, default: date | None = None) -> date | None:
    """A day typed 106/7/15, 106年7月15日 or 2017-07-15, within ROC years 1–300."""
    text = args.get(name)
    if not text:
        return default
    try:
        day = parse_date(text)
    except RocDateError as error:
        raise ParamError(name, str(error)) from None
    _in_roc_years(name, day.year, text)
    return day


def or_400(parse, *args, **kwargs):
    """Call a parser; a ParamError becomes a 400 whose message names the parameter."""
    try:
        return parse(*args, **kwargs)
    except ParamError as error:
        abort(400, description=f"{error.name}：{error.message}")


def digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 1..limit in ASCII digits (leading zeros allowed)."""
    text = str(limit)
    parts = [f"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            parts.append(f"{text[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}")
    parts.append(text)
    return "0*(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<id:name>` in a URL: ASCII digits within 1..MAX_ID, else the route does not match: a 404, no query.

    The range is in the pattern itself: a value refused only after matching would make werkzeug answer
    405 for a path that another method's rule shares.
    """

    regex = digits_up_to(MAX_ID)  # and \d would also match other scripts' digits

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=MAX_ID)


class BodyError(ValueError):
    """A request body that is not a JSON object as expected; ``message`` says why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _refuse_constant(name: str) -> Any:
    raise BodyError(f"JSON 不接受 {name}")


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0); no recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_object(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """A request body parsed as one JSON object (UTF-8, no NaN/Infinity, nested at most max_depth); BodyError else."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except BodyError:
        raise
    except UnicodeDecodeError:
        raise BodyError("內容須為 UTF-8 編碼的 JSON") from None
    except RecursionError:
        raise BodyError(f"JSON 巢狀層數過深（至多 {max_depth} 層）") from None
    except ValueError as error:  # json.JSONDecodeError, and integers of more than 4300 digits
        raise BodyError(f"JSON 無法解析：{str(error)[:80]}") from None
    if not isinstance(value, dict):
        raise BodyError("請送出 JSON 物件")
    if json_depth(value) > max_depth:
        raise BodyError(f"JSON 巢狀層數過深（至多 {max_depth} 層）")
    return value
