"""The plan code users see (計畫編號): the key a person types, reads on a page and puts in an import file.

A programme's code is its 序號 in the plan's table of key programmes (48 is 嘉義市調查站 in the 106 plan);
a sub-plan's is its programme's code, a hyphen and the number the plan gives it (計畫3 of programme 49 is
49-3). Internal database ids are never shown as codes.
"""
from __future__ import annotations

import re

_NUMBER = re.compile(r"(\d+)")


def programme_code(seq: int) -> str:
    """A programme's code: its 序號."""
    return str(seq)


def sub_plan_code(programme_seq: int, sub_code: str | None, seq: int) -> str:
    """A sub-plan's code: 「49-3」 for 計畫3 of programme 49 (its order when the plan gives it no number)."""
    found = _NUMBER.search(sub_code or "")
    return f"{programme_seq}-{found.group(1) if found else seq}"
