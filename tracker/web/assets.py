"""The Chinese web font, served from the tracker itself: pages show glyphs, not boxes, on a machine without
a CJK font, and nothing is fetched from outside the intranet."""
from __future__ import annotations

import functools
import io

from flask import Blueprint, Response

bp = Blueprint("assets", __name__)

#: Browsers may keep the font a year: its bytes change only with the font package.
FONT_MAX_AGE = 365 * 24 * 3600


@functools.lru_cache(maxsize=1)
def _cjk_font() -> bytes:
    """WenQuanYi Micro Hei, the charts' bundled font, as a plain TrueType file (browsers take no .ttc)."""
    from fontTools.ttLib import TTCollection

    from tracker.charts.fonts import FONT_PATH

    out = io.BytesIO()
    TTCollection(str(FONT_PATH)).fonts[0].save(out)  # face 0 is the proportional face
    return out.getvalue()


@bp.route("/assets/cjk.ttf")
def cjk_font():
    """The font style.css names as "Tracker CJK" (no login: the login page needs it too)."""
    response = Response(_cjk_font(), mimetype="font/ttf")
    response.headers["Cache-Control"] = f"public, max-age={FONT_MAX_AGE}, immutable"
    return response
