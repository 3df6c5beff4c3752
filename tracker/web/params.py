"""Query arguments parsed once, strictly, at the edge: whole numbers, pages, ROC years and months, ids.

Every view and the API read their arguments through these helpers, so an odd value is refused the same way
everywhere: ParamError names the parameter and says what it must be; `or_400` turns it into a 400.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from flask import abort

from tracker.domain.roc import ROC_YEAR_MAX, ROC_YEAR_MIN, RocDateError, RocMonth, parse_roc_month

#: ASCII digits only: int() would also take "١٢", "1_000", " 12 " and "+3".
_DIGITS = re.compile(r"^[0-9]{1,18}$")
#: The largest page any list is asked for; a larger number is refused, not clamped silently.
MAX_PAGE = 1_000_000
#: Database ids are 64-bit at most (PostgreSQL BIGINT; SQLite INTEGER): a larger one cannot exist.
MAX_ID = 2**63 - 1


class ParamError(ValueError):
    """A query argument that is not what it must be; ``name`` is the parameter."""

    def __init__(self, name: str, message: str):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


def int_param(args: Mapping[str, str], name: str, default: int | None = None, minimum: int = 1,
              maximum: int = MAX_PAGE) -> int | None:
    """A whole number of ASCII digits within minimum..maximum; the default when absent or empty."""
    text = args.get(name)
    if text is None or text == "":
        return default
    if not _DIGITS.match(text) or not minimum <= int(text) <= maximum:
        raise ParamError(name, f"須為 {minimum} 至 {maximum} 的整數，而非「{text[:40]}」")
    return int(text)


def page_param(args: Mapping[str, str], name: str = "page") -> int:
    """The page asked for (1 when absent)."""
    return int_param(args, name, 1, 1, MAX_PAGE)


def roc_year_param(args: Mapping[str, str], name: str = "year", default: int | None = None) -> int | None:
    """An ROC year (1–300)."""
    return int_param(args, name, default, ROC_YEAR_MIN, ROC_YEAR_MAX)


def roc_month_param(args: Mapping[str, str], name: str = "month", default: RocMonth | None = None) -> RocMonth | None:
    """A month typed 106-09, 106/9, 106年9月 or 2017-09."""
    text = args.get(name)
    if not text:
        return default
    try:
        return parse_roc_month(text)
    except RocDateError as error:
        raise ParamError(name, str(error)) from None


def or_400(parse, *args, **kwargs):
    """Call a parser; a ParamError becomes a 400 whose message names the parameter."""
    try:
        return parse(*args, **kwargs)
    except ParamError as error:
        abort(400, description=f"{error.name}：{error.message}")


def id_or_404(value: int) -> int:
    """An id from a URL: one beyond any database id is simply not found (never a database overflow)."""
    if not 0 < value <= MAX_ID:
        abort(404)
    return value
