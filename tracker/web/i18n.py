"""Language: Traditional Chinese by default, English on a switch (GET /lang/en, /lang/zh) or ?lang=en once."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale

from tracker.web.auth import safe_next

bp = Blueprint("i18n", __name__)

#: The templates' own language: zh needs no catalogue, its msgids are the Chinese text.
DEFAULT_LOCALE = "zh_Hant_TW"
#: Short codes of the switch and of ?lang= → Babel locales; an English catalogue is in tracker/translations.
LANGUAGES = {"zh": DEFAULT_LOCALE, "en": "en"}
#: `<html lang>` for each short code (BCP 47).
HTML_LANG = {"zh": "zh-Hant-TW", "en": "en"}
#: The session key holding the reader's choice; it outlives a login and a logout.
SESSION_KEY = "lang"
#: Where the compiled catalogues are: tracker/translations/<locale>/LC_MESSAGES/messages.mo.
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def init_app(app: Flask) -> None:
    """Set up Flask-Babel with the tracker's locale rule and register the switch."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    # WTForms' own catalogues would turn its built-in messages into Simplified Chinese for zh_Hant_TW;
    # keep them as they were (its English source) — the tracker's own messages are in our catalogue.
    app.config.setdefault("WTF_I18N_ENABLED", False)
    Babel(app, locale_selector=select_language)  # one per app: it caches the loaded catalogues
    app.register_blueprint(bp)
    app.context_processor(_language_globals)


def current_language() -> str:
    """The short code of the request's language: "zh" or "en"."""
    return "en" if str(get_locale() or DEFAULT_LOCALE).startswith("en") else "zh"


def select_language() -> str | None:
    """?lang= for this request, else the session's choice, else Traditional Chinese; the API is always Chinese."""
    if not has_request_context() or request.path.startswith("/api/"):
        return None  # the default locale: the API's messages are part of its contract
    for code in (request.args.get("lang"), session.get(SESSION_KEY)):
        if code in LANGUAGES:
            return LANGUAGES[code]
    return None


def _here_without_lang() -> str:
    """The current path and query (as sent), minus a one-off ?lang=, to come back to after switching."""
    query = request.query_string.decode("utf-8", "replace")
    kept = [pair for pair in query.split("&") if pair and pair.partition("=")[0] != "lang"]
    return request.path + ("?" + "&".join(kept) if kept else "")


def _language_globals() -> dict:
    """What base.html needs for `<html lang>` and the switch."""
    code = current_language()
    return {"current_language": code, "html_lang": HTML_LANG[code], "here_without_lang": _here_without_lang}


@bp.route("/lang/<code>")
def switch(code: str):
    """Remember the reader's language in the session and go back to the page (same site only)."""
    if code not in LANGUAGES:
        abort(404)
    session[SESSION_KEY] = code
    return redirect(safe_next(request.args.get("next")))
