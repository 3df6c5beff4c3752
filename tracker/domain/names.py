"""Programme names as a person types them: folded for matching, and the closest names offered when none matches.

「台中」 and 「臺中」, full-width and half-width letters and digits, spaces, and the several ways of writing the
same punctuation mark (a middle dot, a dash, brackets) fold to one form, so a name copied from a report, retyped by
hand or written on another computer still finds its programme. Folding never makes two different words equal
beyond these variants; a name that matches more than one programme is the caller's to refuse.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

#: Variant characters and the form they fold to (after NFKC, which already makes full-width forms half-width).
_VARIANTS = str.maketrans({
    "臺": "台",
    # middle dots
    "‧": "·", "・": "·", "･": "·", "•": "·", "∙": "·", "⋅": "·",
    # dashes and hyphens
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "﹣": "-",
    # brackets
    "（": "(", "）": ")", "〔": "(", "〕": ")", "【": "(", "】": ")", "［": "(", "］": ")", "[": "(", "]": ")",
    "｛": "(", "｝": ")", "{": "(", "}": ")",
    # enumeration commas; quotation marks, which people write in many ways or leave out, are dropped
    "､": "、", "﹑": "、",
    "「": None, "」": None, "『": None, "』": None, "“": None, "”": None, "‘": None, "’": None,
    "\"": None, "'": None,
})
_SPACE = re.compile(r"\s+")

#: A suggestion at least this similar (0 to 1) is offered.
_CUTOFF = 0.3


def fold(text: str) -> str:
    """A name as a lookup key: 「臺中 分署」, 「台中分署」 and 「台中分署」 (full-width) give the same key."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACE.sub("", text).translate(_VARIANTS)
    return text.casefold()


def _similarity(query: str, candidate: str) -> float:
    """How alike two folded names are: the mean of difflib's ratio and the share of the query found in order.

    The second term lets a short fragment (「台中分署」) find the long official name that contains it.
    """
    if not query or not candidate:
        return 0.0
    matcher = difflib.SequenceMatcher(None, query, candidate, autojunk=False)
    found = sum(block.size for block in matcher.get_matching_blocks())
    return (matcher.ratio() + found / len(query)) / 2


def closest(text: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` most like ``text`` after folding, most alike first; [] when none is close.

    Candidates that fold to the same name are offered once (the first given); ties keep the order given.
    """
    query = fold(text)
    scored: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for order, candidate in enumerate(candidates):
        key = fold(candidate)
        if key in seen:
            continue
        seen.add(key)
        score = _similarity(query, key)
        if score >= _CUTOFF:
            scored.append((-score, order, candidate))
    scored.sort()
    return [candidate for _, _, candidate in scored[:max(n, 0)]]
