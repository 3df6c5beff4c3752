"""Which of last year's programmes a new plan's programme continues: normalised names, with the phase as evidence.

A plan restates a continuing programme with the next phase (「(1/3)」 → 「(2/3)」) and usually the same name; a
name may be reworded slightly. The score is difflib's ratio of the folded names, raised when the fraction advances
as it should and lowered when it does not; a clear best match is taken, a close second or a middling score is the
admin's to settle, and a poor one is a new programme.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from tracker.domain.names import fold

#: At or above: the same programme (when no other candidate comes close).
MATCH_SCORE = 0.85
#: Below: a new programme. Between the two: ambiguous.
NEW_BELOW = 0.6
#: A runner-up within this of the best makes the match ambiguous.
CLEAR_MARGIN = 0.08
#: How much a fraction that advances as it should (or does not) moves the score.
PHASE_EVIDENCE = 0.1


@dataclass(frozen=True)
class Listed:
    """A programme as a plan lists it: a key (this year's code, or last year's programme id), name, phase, year."""

    key: str
    name: str
    year_roc: int
    phase_index: int | None = None
    phase_total: int | None = None


@dataclass(frozen=True)
class Match:
    """What a new programme is: continuing (``previous`` set), new, or ambiguous (``candidates`` to choose from)."""

    key: str
    status: str  #: continuing, new or ambiguous
    previous: str | None = None
    score: float = 0.0
    candidates: tuple[tuple[str, float], ...] = ()


def phase_advance(new: Listed, old: Listed) -> int | None:
    """+1 when the fraction advanced by the years between the plans, -1 when it stood still or went back,
    0 when it changed length, None when either has no fraction."""
    if None in (new.phase_index, new.phase_total, old.phase_index, old.phase_total):
        return None
    if new.phase_total != old.phase_total:
        return 0
    return 1 if new.phase_index - old.phase_index == new.year_roc - old.year_roc else -1


def goes_backwards(new: Listed, old: Listed) -> bool:
    """Whether a continuing programme's fraction is not later than last year's (「(2/3)」 → 「(1/3)」 or 「(2/3)」)."""
    if None in (new.phase_index, new.phase_total, old.phase_index, old.phase_total):
        return False
    return new.phase_total == old.phase_total and new.phase_index <= old.phase_index


def score(new: Listed, old: Listed) -> float:
    """How likely ``new`` continues ``old``, 0 to 1."""
    value = difflib.SequenceMatcher(None, fold(new.name), fold(old.name), autojunk=False).ratio()
    advance = phase_advance(new, old)
    if advance == 1:
        value += PHASE_EVIDENCE
    elif advance == -1:
        value -= PHASE_EVIDENCE
    return max(0.0, min(1.0, value))


def match_programmes(new: list[Listed], previous: list[Listed], settled: dict[str, str | None] | None = None) -> list[Match]:
    """Match each new programme to at most one previous one (best scores first); ``settled`` maps a new key to a
    previous key (or None: new) the admin chose, and is taken as is."""
    settled = dict(settled or {})
    # the same folded name, once on each side, is the same programme: no need to compare it with every other
    exact: dict[str, str] = {}
    by_name: dict[str, list[Listed]] = {}
    for o in previous:
        by_name.setdefault(fold(o.name), []).append(o)
    new_names: dict[str, int] = {}
    for n in new:
        new_names[fold(n.name)] = new_names.get(fold(n.name), 0) + 1
    for n in new:
        same = by_name.get(fold(n.name), [])
        if n.key not in settled and len(same) == 1 and new_names[fold(n.name)] == 1:
            exact[n.key] = same[0].key
    taken = {v for v in settled.values() if v is not None} | set(exact.values())
    rest = [o for o in previous if o.key not in taken]
    scored = {
        n.key: sorted(((round(score(n, o), 4), o.key) for o in rest), reverse=True)
        for n in new if n.key not in settled and n.key not in exact
    }
    olds = {o.key: o for o in previous}
    news = {n.key: n for n in new}
    pairs = sorted(((s, n, o) for n, options in scored.items() for s, o in options if s >= NEW_BELOW), reverse=True)
    chosen: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for s, n, o in pairs:
        if n in chosen or o in used:
            continue
        chosen[n] = (o, s)
        used.add(o)
    out = []
    for n in new:
        if n.key in exact:
            prev = exact[n.key]
            out.append(Match(n.key, "continuing", prev, round(score(news[n.key], olds[prev]), 4)))
            continue
        if n.key in settled:
            prev = settled[n.key]
            out.append(Match(n.key, "new" if prev is None else "continuing", prev, 1.0 if prev else 0.0))
            continue
        options = [(o, s) for s, o in scored[n.key][:3] if s >= NEW_BELOW]
        if n.key not in chosen:
            out.append(Match(n.key, "ambiguous" if options else "new", None, options[0][1] if options else 0.0,
                             tuple(options)))
            continue
        prev, s = chosen[n.key]
        runner_up = max((x for o, x in options if o != prev), default=0.0)
        if s >= MATCH_SCORE and s - runner_up >= CLEAR_MARGIN:
            out.append(Match(n.key, "continuing", prev, s, tuple(options)))
        else:
            out.append(Match(n.key, "ambiguous", None, s, tuple(options)))
    return out
