"""Chart wording in the reader's language: charts call tr(); the web layer supplies the translator.

No Flask here: a context variable carries the translation function for the duration of a drawing,
so the same chart code serves the CLI (Chinese, the source language) and an English page.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

_translate: ContextVar[Callable[[str], str]] = ContextVar("chart_translate", default=lambda text: text)


def N_(text: str) -> str:
    """Mark a constant for the catalogue; translate it with tr() where it is drawn."""
    return text


def tr(text: str, **values) -> str:
    """The text (Traditional Chinese, the msgid) in the current language, with %(name)s values filled in."""
    translated = _translate.get()(text)
    return translated % values if values else translated


@contextmanager
def translated(func: Callable[[str], str]) -> Iterator[None]:
    """Draw with this translation function (e.g. flask_babel.gettext) in force."""
    token = _translate.set(func)
    try:
        yield
    finally:
        _translate.reset(token)
